using Esp.ApiKeys;
using Esp.Config;
using Esp.Grpc;
using Microsoft.AspNetCore.Http;

namespace Esp.Forwarding;

/// <summary>
/// The API key part of deciding whether a call may go on (JWTs are checked before, by the
/// authenticator). Closed by default: while no key store exists, a method that needs a key is refused.
/// </summary>
internal static class CallAdmission
{
    /// <summary>ESP's words for a call without an API key to a method that needs one.</summary>
    public static readonly Status MissingApiKey = new(StatusCode.Unauthenticated,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");

    public static readonly Status InvalidApiKey = new(StatusCode.InvalidArgument, "API key not valid. Please pass a valid API key.");

    /// <summary>Null when the call may be forwarded; otherwise the status it is refused with.</summary>
    public static Status? Check(HttpRequest request, MethodPolicy method)
    {
        if (NeedsApiKey(method))
        {
            // No key store is configured (none can be yet): every key is unknown, so the method
            // is closed, as ESP's behaviour without a key store is.
            return ApiKeyLocator.Find(request, method.ApiKeyLocations) is null ? MissingApiKey : InvalidApiKey;
        }
        return null;
    }

    public static bool NeedsApiKey(MethodPolicy method) => !method.AllowUnregisteredCalls && !method.SkipServiceControl;
}
