using System.Text.RegularExpressions;

namespace Esp.Auth.ServiceAccounts;

/// <summary>
/// A user-managed service account's email, <c>NAME@PROJECT.iam.gserviceaccount.com</c>, with Google's
/// rules for both parts: 6 to 30 characters of lowercase letters, digits and hyphens, starting with a
/// letter and not ending with a hyphen.
/// </summary>
internal static partial class ServiceAccountEmail
{
    public const string Domain = ".iam.gserviceaccount.com";

    public const string Shape = "NAME@PROJECT" + Domain;

    public static bool TryParse(string? email, out string projectId, out string problem)
    {
        projectId = "";
        problem = "";
        if (string.IsNullOrEmpty(email))
        {
            problem = $"give the service account's email: {Shape}";
            return false;
        }
        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (at < 0 || !email.EndsWith(Domain, StringComparison.Ordinal) || at + 1 > email.Length - Domain.Length)
        {
            problem = $"'{email}' is not a service account email: expected {Shape}";
            return false;
        }
        var name = email[..at];
        var project = email[(at + 1)..^Domain.Length];
        if (!Identifier().IsMatch(name))
        {
            problem = $"'{email}': the account name '{name}' must be 6-30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen";
            return false;
        }
        if (!Identifier().IsMatch(project))
        {
            problem = $"'{email}': the project id '{project}' must be 6-30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen";
            return false;
        }
        projectId = project;
        return true;
    }

    [GeneratedRegex(@"^[a-z][a-z0-9-]{4,28}[a-z0-9]\z")]
    private static partial Regex Identifier();
}
