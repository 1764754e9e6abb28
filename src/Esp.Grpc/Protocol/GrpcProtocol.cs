using System.Collections.Frozen;

namespace Esp.Grpc.Protocol;

/// <summary>The protocol's vocabulary (grpc/doc/PROTOCOL-HTTP2.md): every header name and value in one place.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string ContentTypeHeader = "content-type";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string StatusTrailer = "grpc-status";
    public const string MessageTrailer = "grpc-message";
    public const string StatusDetailsTrailer = "grpc-status-details-bin";
    public const string TeHeader = "te";
    public const string TeTrailers = "trailers";
    public const string UserAgentHeader = "user-agent";

    public const string IdentityEncoding = "identity";
    public const string GzipEncoding = "gzip";

    /// <summary>What we accept, in the form sent in <c>grpc-accept-encoding</c>.</summary>
    public const string SupportedEncodings = "identity,gzip";

    /// <summary>Default limit on a received message: 4 MiB, as gRPC's own libraries use.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>RST_STREAM error code CANCEL (RFC 9113 §7).</summary>
    public const int Http2CancelErrorCode = 0x8;

    /// <summary>
    /// Headers that carry the protocol itself, never custom metadata: they are not surfaced as
    /// <see cref="Metadata"/> and a <see cref="Metadata"/> entry cannot overwrite them on the wire.
    /// </summary>
    public static readonly FrozenSet<string> ReservedHeaders = new[]
    {
        ContentTypeHeader, TimeoutHeader, EncodingHeader, AcceptEncodingHeader, StatusTrailer, MessageTrailer,
        TeHeader, "host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade",
        "proxy-connection", "grpc-message-type",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool IsReservedHeader(string name) => name.Length == 0 || name[0] == ':' || ReservedHeaders.Contains(name);

    /// <summary><c>application/grpc</c> alone or followed by <c>+proto</c>, <c>+json</c>, ... or <c>;params</c>.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
            return false;
        if (contentType.Length == ContentType.Length)
            return true;
        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>Status codes as trailer strings, without a per-call allocation.</summary>
    public static string ToTrailerString(StatusCode code) => code switch
    {
        StatusCode.OK => "0",
        StatusCode.Cancelled => "1",
        StatusCode.Unknown => "2",
        StatusCode.InvalidArgument => "3",
        StatusCode.DeadlineExceeded => "4",
        StatusCode.NotFound => "5",
        StatusCode.AlreadyExists => "6",
        StatusCode.PermissionDenied => "7",
        StatusCode.ResourceExhausted => "8",
        StatusCode.FailedPrecondition => "9",
        StatusCode.Aborted => "10",
        StatusCode.OutOfRange => "11",
        StatusCode.Unimplemented => "12",
        StatusCode.Internal => "13",
        StatusCode.Unavailable => "14",
        StatusCode.DataLoss => "15",
        StatusCode.Unauthenticated => "16",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Parses a <c>grpc-status</c> value: decimal digits, no sign, no leading zeros beyond "0".</summary>
    public static bool TryParseStatus(string? value, out StatusCode code)
    {
        code = StatusCode.Unknown;
        if (string.IsNullOrEmpty(value) || value.Length > 9)
            return false;
        var n = 0;
        foreach (var c in value)
        {
            if (c is < '0' or > '9')
                return false;
            n = (n * 10) + (c - '0');
        }
        // Codes outside 0..16 are reserved; gRPC libraries treat them as UNKNOWN.
        code = n <= (int)StatusCode.Unauthenticated ? (StatusCode)n : StatusCode.Unknown;
        return true;
    }
}
