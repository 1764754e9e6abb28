using System.Globalization;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Xunit;

namespace Esp.Tests.Grpc;

public class GrpcProtocolTests
{
    [Theory]
    [InlineData("0", StatusCode.OK)]
    [InlineData("1", StatusCode.Cancelled)]
    [InlineData("4", StatusCode.DeadlineExceeded)]
    [InlineData("8", StatusCode.ResourceExhausted)]
    [InlineData("12", StatusCode.Unimplemented)]
    [InlineData("16", StatusCode.Unauthenticated)]
    public void TryParseStatus_DecimalCode_Parses(string value, StatusCode expected)
    {
        Assert.True(GrpcProtocol.TryParseStatus(value, out var code));
        Assert.Equal(expected, code);
    }

    [Theory]
    [InlineData("17")]
    [InlineData("99")]
    [InlineData("999999999")]
    public void TryParseStatus_CodeOutsideTheDefinedRange_Unknown(string value)
    {
        Assert.True(GrpcProtocol.TryParseStatus(value, out var code));
        Assert.Equal(StatusCode.Unknown, code);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.0")]
    [InlineData("0x1")]
    [InlineData("1234567890")]
    [InlineData("\uFF11")]
    public void TryParseStatus_NotDecimalDigits_False(string? value)
    {
        Assert.False(GrpcProtocol.TryParseStatus(value, out _));
    }

    [Fact]
    public void ToTrailerString_EveryCode_ItsDecimalNumber()
    {
        foreach (var code in Enum.GetValues<StatusCode>())
        {
            var text = GrpcProtocol.ToTrailerString(code);

            Assert.Equal(((int)code).ToString(CultureInfo.InvariantCulture), text);
            Assert.True(GrpcProtocol.TryParseStatus(text, out var parsed));
            Assert.Equal(code, parsed);
        }
    }

    [Theory]
    [InlineData("application/grpc")]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc+json")]
    [InlineData("application/grpc+custom")]
    [InlineData("application/grpc;charset=utf-8")]
    [InlineData("APPLICATION/GRPC")]
    [InlineData("Application/Grpc+Proto")]
    public void IsGrpcContentType_GrpcContentType_True(string contentType)
    {
        Assert.True(GrpcProtocol.IsGrpcContentType(contentType));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("application/grpc-web")]
    [InlineData("application/grpc-web+proto")]
    [InlineData("application/grpc-web-text")]
    [InlineData("application/grpcx")]
    [InlineData("application/gr")]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData(" application/grpc")]
    public void IsGrpcContentType_OtherContentType_False(string? contentType)
    {
        Assert.False(GrpcProtocol.IsGrpcContentType(contentType));
    }

    [Theory]
    [InlineData("grpc-status")]
    [InlineData("GRPC-MESSAGE")]
    [InlineData("grpc-timeout")]
    [InlineData("content-type")]
    [InlineData("te")]
    [InlineData(":authority")]
    [InlineData("")]
    public void IsReservedHeader_ProtocolHeader_True(string name)
    {
        Assert.True(GrpcProtocol.IsReservedHeader(name));
    }

    [Theory]
    [InlineData("x-foo")]
    [InlineData("authorization")]
    [InlineData("grpc-status-details-bin")]
    [InlineData("user-agent")]
    public void IsReservedHeader_MetadataHeader_False(string name)
    {
        Assert.False(GrpcProtocol.IsReservedHeader(name));
    }

    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(431, StatusCode.Internal)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(200, StatusCode.Unknown)]
    [InlineData(204, StatusCode.Unknown)]
    [InlineData(301, StatusCode.Unknown)]
    [InlineData(405, StatusCode.Unknown)]
    [InlineData(415, StatusCode.Unknown)]
    [InlineData(500, StatusCode.Unknown)]
    [InlineData(505, StatusCode.Unknown)]
    public void FromHttpStatus_HttpStatus_MappedPerHttpGrpcStatusMapping(int httpStatus, StatusCode expected)
    {
        Assert.Equal(expected, HttpStatusMapping.FromHttpStatus(httpStatus));
    }

    [Theory]
    [InlineData(0x0, StatusCode.Internal, "NO_ERROR")]
    [InlineData(0x1, StatusCode.Internal, "PROTOCOL_ERROR")]
    [InlineData(0x2, StatusCode.Internal, "INTERNAL_ERROR")]
    [InlineData(0x3, StatusCode.Internal, "FLOW_CONTROL_ERROR")]
    [InlineData(0x4, StatusCode.Internal, "SETTINGS_TIMEOUT")]
    [InlineData(0x5, StatusCode.Internal, "STREAM_CLOSED")]
    [InlineData(0x6, StatusCode.Internal, "FRAME_SIZE_ERROR")]
    [InlineData(0x7, StatusCode.Unavailable, "REFUSED_STREAM")]
    [InlineData(0x8, StatusCode.Cancelled, "CANCEL")]
    [InlineData(0x9, StatusCode.Internal, "COMPRESSION_ERROR")]
    [InlineData(0xa, StatusCode.Internal, "CONNECT_ERROR")]
    [InlineData(0xb, StatusCode.ResourceExhausted, "ENHANCE_YOUR_CALM")]
    [InlineData(0xc, StatusCode.PermissionDenied, "INADEQUATE_SECURITY")]
    [InlineData(0xd, StatusCode.Internal, "HTTP_1_1_REQUIRED")]
    [InlineData(0x42, StatusCode.Internal, "0x42")]
    public void FromHttp2ErrorCode_RstStreamCode_MappedPerProtocolSpec(long errorCode, StatusCode expected, string name)
    {
        Assert.Equal(expected, HttpStatusMapping.FromHttp2ErrorCode(errorCode));
        Assert.Equal(name, HttpStatusMapping.Http2ErrorName(errorCode));
    }
}
