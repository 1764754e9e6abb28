using Esp.Config;
using Esp.Grpc;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.ApiKeys;

/// <summary>
/// The API key part of admitting a call (JWTs are checked before, by the authenticator): finds the key
/// where the method says, checks it against the store, and names the consumer. Closed by default: with
/// no store, a method that needs a key refuses every call.
/// </summary>
internal sealed partial class ApiKeyChecker(ReloadingApiKeyStore? store, string serviceName, TimeProvider time, ILogger logger)
{
    /// <summary>ESP's words for a call without an API key to a method that needs one.</summary>
    public static readonly Status MissingApiKey = new(StatusCode.Unauthenticated,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");

    /// <summary>ESP's words for a key that is unknown, revoked or expired (which of them is not told: that is for the log).</summary>
    public static readonly Status InvalidApiKey = new(StatusCode.InvalidArgument, "API key not valid. Please pass a valid API key.");

    public static bool NeedsApiKey(MethodPolicy method) => !method.AllowUnregisteredCalls && !method.SkipServiceControl;

    /// <summary>The caller's key when the method needs one and it is good; otherwise the status the call is refused with.</summary>
    public ApiKeyDecision Check(HttpRequest request, MethodPolicy method)
    {
        if (!NeedsApiKey(method))
            return default;
        var key = ApiKeyLocator.Find(request, method.ApiKeyLocations);
        if (key is null)
        {
            LogRefused(logger, method.Path, "no API key");
            return new ApiKeyDecision(null, MissingApiKey);
        }
        var record = store?.Current.Find(key);
        if (record is null)
        {
            LogRefused(logger, method.Path, store is null ? "an API key, but no key store is configured (--api_keys)" : "an unknown API key");
            return new ApiKeyDecision(null, InvalidApiKey);
        }
        if (record.Disabled)
        {
            LogRefusedKey(logger, method.Path, record.Id, record.Consumer, "revoked");
            return new ApiKeyDecision(null, InvalidApiKey);
        }
        if (record.IsExpired(time.GetUtcNow()))
        {
            LogRefusedKey(logger, method.Path, record.Id, record.Consumer, "expired since " + ApiKeyStoreFile.FormatTimestamp(record.Expires!.Value));
            return new ApiKeyDecision(null, InvalidApiKey);
        }
        if (!record.Allows(method.Selector))
        {
            LogRefusedKey(logger, method.Path, record.Id, record.Consumer, "not for this method (selectors " + string.Join(", ", record.Selectors) + ")");
            return new ApiKeyDecision(null, new Status(StatusCode.PermissionDenied, $"Requests to this API {serviceName} method {method.Selector} are blocked."));
        }
        return new ApiKeyDecision(record, null);
    }

    [LoggerMessage(30, LogLevel.Information, "{Method}: refused: {Problem}", EventName = "ApiKeyRefused")]
    private static partial void LogRefused(ILogger logger, string method, string problem);

    [LoggerMessage(31, LogLevel.Information, "{Method}: refused: API key {KeyId} of consumer {Consumer} is {Problem}", EventName = "ApiKeyRefusedKnown")]
    private static partial void LogRefusedKey(ILogger logger, string method, string keyId, string consumer, string problem);
}

/// <summary>What the API key check decided: a refusal, or admission with the caller's key (null when the method needs no key).</summary>
internal readonly record struct ApiKeyDecision(ApiKeyRecord? Key, Status? Refusal);
