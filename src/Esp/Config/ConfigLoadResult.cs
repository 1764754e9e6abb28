using System.Diagnostics.CodeAnalysis;

namespace Esp.Config;

/// <summary>A compiled <see cref="ServiceModel"/>, or every error that prevented it; warnings either way.</summary>
internal sealed record ConfigLoadResult(ServiceModel? Model, IReadOnlyList<ConfigDiagnostic> Errors, IReadOnlyList<ConfigDiagnostic> Warnings)
{
    [MemberNotNullWhen(true, nameof(Model))]
    public bool Succeeded => Model is not null && Errors.Count == 0;
}
