using Esp.Auth.Jwt;

namespace Esp.Auth;

/// <summary>The outcome of checking a call's JWTs: go on (with the caller's identity, if any) or refuse.</summary>
internal readonly record struct AuthResult(AuthFailure? Failure, JwtToken? Identity)
{
    /// <summary>The method needs no JWT, or allows calls without one and none came.</summary>
    public static readonly AuthResult Anonymous = new(null, null);

    public static AuthResult Refused(AuthFailure failure) => new(failure, null);

    public static AuthResult Verified(JwtToken token) => new(null, token);
}
