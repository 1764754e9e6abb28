using Esp.Grpc;

namespace Esp.Auth;

/// <summary>
/// Why a call's credentials were refused: the gRPC code (UNAUTHENTICATED, or PERMISSION_DENIED for
/// an audience that is not allowed) and the reason, in the wording Envoy's jwt_authn uses so that
/// operators and ESPv2 clients recognise it. Reasons never contain token or key material.
/// </summary>
internal readonly record struct AuthFailure(StatusCode Code, string Reason)
{
    public const string Prefix = "JWT validation failed: ";

    public static readonly AuthFailure Missing = Unauthenticated("Jwt is missing");
    public static readonly AuthFailure BadFormat = Unauthenticated("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    public static readonly AuthFailure TooLarge = Unauthenticated("Jwt is larger than 16384 bytes");
    public static readonly AuthFailure HeaderBadBase64 = Unauthenticated("Jwt header is an invalid Base64url encoded");
    public static readonly AuthFailure HeaderBadJson = Unauthenticated("Jwt header is an invalid JSON");
    public static readonly AuthFailure HeaderBadAlg = Unauthenticated("Jwt header [alg] field is required and must be a string");
    public static readonly AuthFailure HeaderAlgNotImplemented = Unauthenticated("Jwt header [alg] is not supported");
    public static readonly AuthFailure HeaderBadKid = Unauthenticated("Jwt header [kid] field is not a string");
    public static readonly AuthFailure HeaderUnknownCrit = Unauthenticated("Jwt header [crit] names extensions this proxy does not understand");
    public static readonly AuthFailure PayloadBadBase64 = Unauthenticated("Jwt payload is an invalid Base64url encoded");
    public static readonly AuthFailure PayloadBadJson = Unauthenticated("Jwt payload is an invalid JSON");
    public static readonly AuthFailure SignatureBadBase64 = Unauthenticated("Jwt signature is an invalid Base64url encoded");
    public static readonly AuthFailure AudNotStringOrList = Unauthenticated("Jwt payload [aud] field is not a string or string list");
    public static readonly AuthFailure UnknownIssuer = Unauthenticated("Jwt issuer is not configured");
    public static readonly AuthFailure AudienceNotAllowed = new(StatusCode.PermissionDenied, "Audiences in Jwt are not allowed");
    public static readonly AuthFailure Expired = Unauthenticated("Jwt is expired");
    public static readonly AuthFailure NotYetValid = Unauthenticated("Jwt not yet valid");
    public static readonly AuthFailure VerificationFails = Unauthenticated("Jwt verification fails");
    public static readonly AuthFailure NoMatchingKey = Unauthenticated("Jwks doesn't have key to match kid or alg from Jwt");
    public static readonly AuthFailure KeysFetchFailed = Unauthenticated("Jwks remote fetch is failed");
    public static readonly AuthFailure NoValidKeys = Unauthenticated("Jwks doesn't have any valid public key");

    /// <summary><c>Jwt payload [claim] field is not a string</c>.</summary>
    public static AuthFailure NotAString(string claim) => Unauthenticated($"Jwt payload [{claim}] field is not a string");

    /// <summary><c>Jwt payload [claim] field is not an integer</c>.</summary>
    public static AuthFailure NotAnInteger(string claim) => Unauthenticated($"Jwt payload [{claim}] field is not an integer");

    /// <summary><c>Jwt payload [claim] field is not a positive 64 bit integer</c>.</summary>
    public static AuthFailure OutOfRange(string claim) => Unauthenticated($"Jwt payload [{claim}] field is not a positive 64 bit integer");

    public Status ToStatus() => new(Code, Prefix + Reason);

    private static AuthFailure Unauthenticated(string reason) => new(StatusCode.Unauthenticated, reason);
}
