using System.Text;

namespace Esp.Tools;

/// <summary>Plain-text tables for the commands' output.</summary>
internal static class TextTable
{
    /// <summary>Left-aligned columns two spaces apart, the first row the header; the last column is not padded.</summary>
    public static void Write(List<string[]> rows, TextWriter output)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        }
        var line = new StringBuilder();
        foreach (var row in rows)
        {
            line.Clear();
            for (var i = 0; i < row.Length; i++)
                line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            output.WriteLine(line.ToString().TrimEnd());
        }
    }
}
