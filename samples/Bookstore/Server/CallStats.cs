using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Esp.Grpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Bookstore.Server;

/// <summary>
/// The quiet server's account of its calls: how many ended with each grpc-status, served as
/// <c>{"calls": N, "status": {"0": N, ...}}</c> at <c>GET /stats</c>. A call is counted as its
/// status goes out, so whoever has received a status finds its call counted. A call that ends
/// without a status (the caller went away first) is not counted.
/// </summary>
internal sealed class CallStats
{
    private const string StatusHeader = "grpc-status";
    private const int MaxStatus = 16;

    private readonly long[] _byStatus = new long[MaxStatus + 1];

    public Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path == "/stats" && HttpMethods.IsGet(context.Request.Method))
            return WriteAsync(context.Response);
        var body = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        context.Features.Set<IHttpResponseBodyFeature>(new CountingBody(body, context.Response, this));
        return next(context);
    }

    private void Count(HttpResponse response)
    {
        // As the gRPC server writes it: in the trailers after messages, else in a Trailers-Only response.
        var status = response.HasStarted
            ? response.HttpContext.Features.Get<IHttpResponseTrailersFeature>()?.Trailers[StatusHeader] ?? StringValues.Empty
            : response.Headers[StatusHeader];
        if (status.Count != 1 || !int.TryParse(status[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            return;
        // A client reads a code it does not know as UNKNOWN.
        Interlocked.Increment(ref _byStatus[code <= MaxStatus ? code : (int)StatusCode.Unknown]);
    }

    private async Task WriteAsync(HttpResponse response)
    {
        var counts = new long[_byStatus.Length];
        for (var code = 0; code < counts.Length; code++)
            counts[code] = Interlocked.Read(ref _byStatus[code]);
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.BodyWriter);
        json.WriteStartObject();
        json.WriteNumber("calls", counts.Sum());
        json.WriteStartObject("status");
        for (var code = 0; code < counts.Length; code++)
        {
            if (counts[code] > 0)
                json.WriteNumber(code.ToString(CultureInfo.InvariantCulture), counts[code]);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The response body as the server made it, counting the status when the call completes (before it is sent).</summary>
    private sealed class CountingBody(IHttpResponseBodyFeature inner, HttpResponse response, CallStats stats) : IHttpResponseBodyFeature
    {
        private bool _completed;

        public Stream Stream => inner.Stream;

        public PipeWriter Writer => inner.Writer;

        public void DisableBuffering() => inner.DisableBuffering();

        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            inner.SendFileAsync(path, offset, count, cancellationToken);

        public Task CompleteAsync()
        {
            if (!_completed)
            {
                _completed = true;
                stats.Count(response);
            }
            return inner.CompleteAsync();
        }
    }
}
