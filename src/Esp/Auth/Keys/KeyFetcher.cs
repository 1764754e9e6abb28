namespace Esp.Auth.Keys;

/// <summary>What fetching a key document gave: its bytes, or why there are none.</summary>
internal readonly record struct FetchResult(byte[]? Body, string? Problem);

/// <summary>
/// Fetches key documents (JWKS, certificate maps, OpenID configurations) over HTTP(S) or from
/// <c>file://</c>, with a timeout and a size cap: a key server that is slow, huge or endless
/// costs a failed fetch, not a stuck proxy.
/// </summary>
internal sealed class KeyFetcher(HttpMessageInvoker http, TimeSpan timeout)
{
    public const int MaxBytes = 1024 * 1024;

    public async Task<FetchResult> FetchAsync(Uri uri, CancellationToken cancellationToken)
    {
        if (uri.IsFile)
            return await ReadFileAsync(uri.LocalPath, cancellationToken);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await http.SendAsync(request, timeoutSource.Token);
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
                return new FetchResult(null, $"{uri} answered HTTP {(int)response.StatusCode}");
            await using var body = await response.Content.ReadAsStreamAsync(timeoutSource.Token);
            return await ReadCappedAsync(body, uri.ToString(), timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new FetchResult(null, $"{uri} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new FetchResult(null, $"{uri} could not be reached: {ex.Message}");
        }
        catch (IOException ex)
        {
            return new FetchResult(null, $"reading {uri} failed: {ex.Message}");
        }
    }

    private static async Task<FetchResult> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var file = File.OpenRead(path);
            return await ReadCappedAsync(file, path, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new FetchResult(null, $"{path} could not be read: {ex.Message}");
        }
    }

    private static async Task<FetchResult> ReadCappedAsync(Stream body, string source, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await body.ReadAsync(chunk, cancellationToken);
            if (read == 0)
                return new FetchResult(buffer.ToArray(), null);
            if (buffer.Length + read > MaxBytes)
                return new FetchResult(null, $"{source} is larger than {MaxBytes / 1024} KiB");
            buffer.Write(chunk, 0, read);
        }
    }
}
