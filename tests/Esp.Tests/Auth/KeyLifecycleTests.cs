using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Esp.Auth;
using Esp.Auth.Keys;
using Esp.Config;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;
using static Esp.Tests.Auth.AuthHarness;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Auth;

/// <summary>
/// Keys over time (catalogue rows H1, H2, H3, H5, H6, H7, H10, H11, E7, I7): a key server that
/// fails, lies, stalls or goes away; background refresh; rotation; refetch storms; single-flight
/// fetches; OpenID discovery; service-account and file:// key sources; the verified-token cache.
/// Time is the fake clock; only the timeout of a key server that never answers is real (200 ms).
/// </summary>
public sealed class KeyLifecycleTests
{
    private static readonly TimeSpan ShortFetchTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>One provider "main" with <paramref name="issuer"/> and <paramref name="jwksUri"/>, required by <see cref="Strict"/>.</summary>
    private static Func<KeyServer, ServiceModel> OneProvider(Func<KeyServer, string> issuer, Func<KeyServer, string?> jwksUri) =>
        server => Models.Service(ServiceName, [Models.Provider("main", issuer(server), jwksUri(server), [Audience])],
            Models.Method(Strict, Models.Requires("main")));

    private static Func<KeyServer, AuthOptions> Options(int cacheSize, KeyCacheOptions? keys, TimeSpan? fetchTimeout) => _ => new AuthOptions
    {
        JwtCacheSize = cacheSize,
        Keys = keys ?? new KeyCacheOptions(),
        KeyFetchTimeout = fetchTimeout ?? new AuthOptions().KeyFetchTimeout,
    };

    private static Task<AuthHarness> StartAsync(int cacheSize = 1000, Func<KeyServer, ServiceModel>? model = null, KeyCacheOptions? keys = null, TimeSpan? fetchTimeout = null) =>
        AuthHarness.StartAsync(model, Options(cacheSize, keys, fetchTimeout));

    /// <summary>A key route that holds every request until <paramref name="release"/> completes, and says when one arrived.</summary>
    private static void Gate(KeyServer server, string path, TaskCompletionSource arrived, Task release, string body) => server.Handle(path, async context =>
    {
        arrived.TrySetResult();
        await release.WaitAsync(context.RequestAborted);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    });

    // ---- H1-H3, H10: fetches that fail ----

    [Theory]
    [InlineData("H1 500", 500, "{}")]
    [InlineData("H1 404", 404, "")]
    [InlineData("H1 503 with a good JWKS", 503, "jwks")]
    [InlineData("H1 204", 204, "")]
    [InlineData("H1 200 empty", 200, "")]
    [InlineData("H3 not JSON", 200, "<html>oops</html>")]
    [InlineData("H3 empty object", 200, "{}")]
    [InlineData("H3 no keys", 200, """{"keys":[]}""")]
    [InlineData("H3 no valid key", 200, """{"keys":[{"kty":"RSA","kid":"x"}]}""")]
    public async Task Fetch_H1H3_BadAnswer_FetchFailed(string row, int status, string body)
    {
        _ = row;
        await using var auth = await StartAsync();
        auth.Server.Serve("/jwks", body == "jwks" ? TestKeys.DefaultJwks : body, status);

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);

        Assert.Equal(1, auth.FetchCount());
        var warning = Assert.Single(auth.Logger.Entries, e => e.EventName == "KeysFetchFailed");
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task Fetch_H1_Redirect_NotFollowed_FetchFailed()
    {
        await using var auth = await StartAsync();
        auth.Server.Serve("/moved", TestKeys.DefaultJwks);
        auth.Server.Handle("/jwks", context =>
        {
            context.Response.Redirect(auth.Server.Url("/moved"));
            return Task.CompletedTask;
        });

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
        Assert.Equal(0, auth.Server.Requests("/moved"));
    }

    [Fact]
    public async Task Fetch_H2_ConnectionRefused_FetchFailed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var auth = await StartAsync(model: OneProvider(_ => Issuer, _ => $"http://127.0.0.1:{closedPort}/jwks"));

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
    }

    [Fact]
    public async Task Fetch_H2_ServerNeverAnswers_TimesOut_FetchFailed()
    {
        await using var auth = await StartAsync(fetchTimeout: ShortFetchTimeout);
        auth.Server.Hang("/jwks");

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);

        Assert.Contains(auth.Logger.Entries, e => e.EventName == "KeysFetchFailed" && e.Message.Contains("did not answer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fetch_H10_BodyOverOneMiB_FetchFailed()
    {
        await using var auth = await StartAsync();
        auth.Server.Serve("/jwks", TestKeys.DefaultJwks.PadRight(KeyFetcher.MaxBytes + 1));

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
    }

    [Fact]
    public async Task Fetch_H10_BodyOfExactlyOneMiB_Verified()
    {
        await using var auth = await StartAsync();
        auth.Server.Serve("/jwks", TestKeys.DefaultJwks.PadRight(KeyFetcher.MaxBytes));

        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
    }

    [Fact]
    public async Task Fetch_H10_EndlessBody_FetchFailed()
    {
        await using var auth = await StartAsync();
        auth.Server.Handle("/jwks", async context =>
        {
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
            await context.Response.WriteAsync("{\"keys\":[", context.RequestAborted);
            while (!context.RequestAborted.IsCancellationRequested)
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
        });

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
    }

    [Fact]
    public async Task Fetch_FailedWithNothingCached_FailsFastThenRetriesAfterBackoff()
    {
        await using var auth = await StartAsync();
        auth.Server.Serve("/jwks", "", 500);
        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);

        auth.Server.Serve("/jwks", TestKeys.DefaultJwks);
        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
        Assert.Equal(1, auth.FetchCount());

        auth.Time.Advance(TimeSpan.FromSeconds(1));
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        Assert.Equal(2, auth.FetchCount());
        Assert.Equal(2, auth.Server.Requests("/jwks"));
    }

    // ---- H6: stale keys; background refresh ----

    [Fact]
    public async Task Refresh_H6_ServerDownAfterFirstFetch_StaleKeysStillVerifyWithWarning()
    {
        await using var auth = await StartAsync();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        await auth.Server.DisposeAsync();

        auth.Time.Advance(TimeSpan.FromSeconds(270));
        Assert.Equal(2, auth.FetchCount());
        await auth.Logger.WaitForAsync("KeysStale").DefaultTimeout();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token(extra: new JsonObject { ["n"] = 1 })));

        // Past the cache duration the keys are stale, and still used while refreshes keep failing.
        auth.Time.Advance(TimeSpan.FromSeconds(40));
        AuthAssert.Verified(await auth.BearerAsync(auth.Token(extra: new JsonObject { ["n"] = 2 })));

        var stale = auth.Logger.Entries.First(e => e.EventName == "KeysStale");
        Assert.Equal(LogLevel.Warning, stale.Level);
        Assert.DoesNotContain(TestTokens.B64(TestKeys.Rsa.Rsa!.ExportParameters(false).Modulus!)[..20], stale.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refresh_StaleAndServerDown_RetriedAtMostOncePerBackoff()
    {
        await using var auth = await StartAsync();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        auth.Server.Serve("/jwks", "", 500);

        auth.Time.Advance(TimeSpan.FromSeconds(310));
        await auth.Logger.WaitForAsync("KeysStale").DefaultTimeout();
        var fetches = auth.FetchCount();
        for (var i = 0; i < 20; i++)
            AuthAssert.Verified(await auth.BearerAsync(auth.Token(extra: new JsonObject { ["n"] = i })));

        // Within the backoff after a failure, calls get the stale keys without fetching again.
        Assert.Equal(fetches, auth.FetchCount());
    }

    [Fact]
    public async Task Refresh_At90PercentOfCacheDuration_FetchedInBackground_NewKeysUsed()
    {
        await using var auth = await StartAsync();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        auth.Server.Serve("/jwks", TestTokens.Jwks(TestKeys.Rsa2));

        auth.Time.Advance(TimeSpan.FromSeconds(269));
        Assert.Equal(1, auth.FetchCount());
        auth.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, auth.FetchCount());
        await auth.Logger.WaitForAsync("KeysFetched", 2).DefaultTimeout();

        AuthAssert.Verified(await auth.BearerAsync(auth.Token(TestKeys.Rsa2)));
        Assert.Equal(2, auth.FetchCount());
        // The next refresh is 90% of the duration after this one.
        auth.Time.Advance(TimeSpan.FromSeconds(269));
        Assert.Equal(2, auth.FetchCount());
        auth.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, auth.FetchCount());
    }

    [Fact]
    public async Task Refresh_CustomCacheDuration_RefreshedAt90Percent()
    {
        await using var auth = await StartAsync(keys: new KeyCacheOptions { CacheDuration = TimeSpan.FromSeconds(100) });
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));

        auth.Time.Advance(TimeSpan.FromSeconds(89));
        Assert.Equal(1, auth.FetchCount());
        auth.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, auth.FetchCount());
        await auth.Logger.WaitForAsync("KeysFetched", 2).DefaultTimeout();
    }

    // ---- H5, H7: unknown kids ----

    [Fact]
    public async Task Authenticate_H5_RotatedInKeyNewKid_ExactlyOneRefetchThenVerified()
    {
        await using var auth = await StartAsync();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        auth.Server.Serve("/jwks", TestTokens.Jwks(TestKeys.Rsa, TestKeys.Rsa2));

        AuthAssert.Verified(await auth.BearerAsync(auth.Token(TestKeys.Rsa2)));
        Assert.Equal(2, auth.FetchCount());

        AuthAssert.Verified(await auth.BearerAsync(auth.Token(TestKeys.Rsa2, extra: new JsonObject { ["n"] = 2 })));
        AuthAssert.Verified(await auth.BearerAsync(auth.Token(extra: new JsonObject { ["n"] = 3 })));
        Assert.Equal(2, auth.FetchCount());
    }

    [Fact]
    public async Task Authenticate_H7_FloodOfRandomKids_AtMostOneRefetchPer30Seconds()
    {
        await using var auth = await StartAsync();
        AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
        string RandomKid() => auth.Token(TestKeys.Hmac, kid: Guid.NewGuid().ToString("N"));

        var flood = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => RandomKid()).ToList()
            .Select(token => Task.Run(() => auth.BearerAsync(token)))).DefaultTimeout();

        Assert.All(flood, result => AuthAssert.Unauthenticated(result, Reasons.NoMatchingKey));
        Assert.Equal(2, auth.FetchCount());

        auth.Time.Advance(TimeSpan.FromSeconds(29));
        AuthAssert.Unauthenticated(await auth.BearerAsync(RandomKid()), Reasons.NoMatchingKey);
        Assert.Equal(2, auth.FetchCount());

        auth.Time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10; i++)
            AuthAssert.Unauthenticated(await auth.BearerAsync(RandomKid()), Reasons.NoMatchingKey);
        Assert.Equal(3, auth.FetchCount());
        Assert.Equal(3, auth.Server.Requests("/jwks"));
    }

    // ---- single flight, cancellation ----

    [Fact]
    public async Task Fetch_200ParallelFirstCalls_ExactlyOneFetch()
    {
        await using var auth = await StartAsync();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Gate(auth.Server, "/jwks", arrived, release.Task, TestKeys.DefaultJwks);
        var tokens = Enumerable.Range(0, 200).Select(i => auth.Token(TestKeys.Hmac, extra: new JsonObject { ["n"] = i })).ToList();

        var calls = tokens.Select(token => Task.Run(() => auth.BearerAsync(token))).ToList();
        await arrived.Task.DefaultTimeout();
        release.SetResult();
        var results = await Task.WhenAll(calls).DefaultTimeout();

        Assert.All(results, result => AuthAssert.Verified(result));
        Assert.Equal(1, auth.FetchCount());
        Assert.Equal(1, auth.Server.Requests("/jwks"));
        Assert.Equal(200, auth.Cache.Count);
    }

    [Fact]
    public async Task Fetch_I7_CallerCancelsWhileFetchPending_ThatCallEndsOthersGetTheKeys()
    {
        await using var auth = await StartAsync();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Gate(auth.Server, "/jwks", arrived, release.Task, TestKeys.DefaultJwks);
        using var cancel = new CancellationTokenSource();

        var cancelled = auth.BearerAsync(auth.Token(), cancellationToken: cancel.Token);
        var waiting = auth.BearerAsync(auth.Token(extra: new JsonObject { ["n"] = 2 }));
        await arrived.Task.DefaultTimeout();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled).DefaultTimeout();
        release.SetResult();
        AuthAssert.Verified(await waiting);
        Assert.Equal(1, auth.FetchCount());
    }

    // ---- where keys come from ----

    [Fact]
    public async Task Fetch_NoJwksUri_OpenIdDiscoveryFollowedOnce()
    {
        await using var auth = await StartAsync(model: OneProvider(s => s.Url("/tenant"), _ => null));
        var issuer = auth.Server.Url("/tenant");
        auth.Server.Serve("/tenant/.well-known/openid-configuration",
            new JsonObject { ["issuer"] = issuer, ["jwks_uri"] = auth.Server.Url("/tenant/keys") }.ToJsonString());
        auth.Server.Serve("/tenant/keys", TestTokens.Jwks(TestKeys.Rsa));

        AuthAssert.Verified(await auth.BearerAsync(auth.Token(iss: issuer)));
        auth.Server.Serve("/tenant/keys", TestTokens.Jwks(TestKeys.Rsa, TestKeys.Rsa2));
        AuthAssert.Verified(await auth.BearerAsync(auth.Token(TestKeys.Rsa2, iss: issuer)));

        Assert.Equal(1, auth.Server.Requests("/tenant/.well-known/openid-configuration"));
        Assert.Equal(2, auth.Server.Requests("/tenant/keys"));
    }

    [Fact]
    public async Task Fetch_OpenIdDiscoveryFailsAtFirst_RetriedLater()
    {
        await using var auth = await StartAsync(model: OneProvider(s => s.Url("/tenant/"), _ => null));
        var issuer = auth.Server.Url("/tenant/");

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token(iss: issuer)), Reasons.FetchFailed);

        auth.Server.Serve("/tenant/.well-known/openid-configuration", new JsonObject { ["jwks_uri"] = auth.Server.Url("/jwks") }.ToJsonString());
        auth.Time.Advance(TimeSpan.FromSeconds(1));
        AuthAssert.Verified(await auth.BearerAsync(auth.Token(iss: issuer)));
        Assert.Equal(2, auth.Server.Requests("/tenant/.well-known/openid-configuration"));
    }

    [Theory]
    [InlineData("file URI", """{"jwks_uri":"file:///etc/passwd"}""")]
    [InlineData("relative URI", """{"jwks_uri":"/jwks"}""")]
    [InlineData("no jwks_uri", """{"issuer":"x"}""")]
    [InlineData("jwks_uri not a string", """{"jwks_uri":["http://127.0.0.1/jwks"]}""")]
    [InlineData("not JSON", "jwks_uri: /jwks")]
    [InlineData("undecodable", """{"jwks_uri":"\ud800"}""")]
    public async Task Fetch_OpenIdDiscoveryWithoutUsableJwksUri_FetchFailed(string row, string configuration)
    {
        _ = row;
        await using var auth = await StartAsync(model: OneProvider(s => s.Url("/tenant"), _ => null));
        auth.Server.Serve("/tenant/.well-known/openid-configuration", configuration);

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token(iss: auth.Server.Url("/tenant"))), Reasons.FetchFailed);
        Assert.Equal(0, auth.Server.Requests("/jwks"));
    }

    [Fact]
    public async Task Fetch_ServiceAccountIssuerWithoutJwksUri_GoogleJwkEndpointForTheEmail()
    {
        const string email = "x@p.iam.gserviceaccount.com";
        await using var auth = await AuthHarness.StartAsync(OneProvider(_ => email, _ => null),
            s => new AuthOptions { Keys = new KeyCacheOptions { GoogleServiceAccountKeys = new Uri(s.Url("/service_accounts/v1/jwk/")) } });
        auth.Server.Serve("/service_accounts/v1/jwk/" + email, TestTokens.Jwks(TestKeys.Rsa));

        AuthAssert.Verified(await auth.BearerAsync(auth.Token(iss: email)));

        Assert.Equal(1, auth.Server.Requests("/service_accounts/v1/jwk/" + email));
        Assert.Equal(0, auth.Server.Requests("/.well-known/openid-configuration"));
    }

    [Fact]
    public async Task Fetch_FileJwksUriWithCertificateMap_Verified()
    {
        var directory = Directory.CreateTempSubdirectory("esp-keys-");
        try
        {
            var path = Path.Combine(directory.FullName, "certs.json");
            await File.WriteAllTextAsync(path, TestTokens.CertificateMap(TestKeys.Rsa, TestKeys.Ec256));
            await using var auth = await StartAsync(model: OneProvider(_ => Issuer, _ => new Uri(path).AbsoluteUri));

            AuthAssert.Verified(await auth.BearerAsync(auth.Token()));
            AuthAssert.Verified(await auth.BearerAsync(auth.Token(TestKeys.Ec256)));
            Assert.Equal(1, auth.FetchCount());
            Assert.Equal(0, auth.Server.TotalRequests);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Fetch_FileJwksUriMissing_FetchFailed()
    {
        await using var auth = await StartAsync(model: OneProvider(_ => Issuer, _ => "file:///nonexistent/esp-test/jwks.json"));

        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.FetchFailed);
    }

    // ---- the verified-token cache ----

    [Fact]
    public async Task Cache_SameTokenTwice_OneEntryNoSecondFetch()
    {
        await using var auth = await StartAsync();
        var token = auth.Token();

        AuthAssert.Verified(await auth.BearerAsync(token));
        auth.Server.Serve("/jwks", "", 500);
        AuthAssert.Verified(await auth.BearerAsync(token));

        Assert.Equal(1, auth.Cache.Count);
        Assert.Equal(1, auth.FetchCount());
    }

    [Fact]
    public async Task Cache_E7_CachedTokenPastExp_Expired()
    {
        await using var auth = await StartAsync();
        var token = auth.Token(exp: auth.Now + 100);
        AuthAssert.Verified(await auth.BearerAsync(token));

        auth.Time.Advance(TimeSpan.FromSeconds(160));
        AuthAssert.Verified(await auth.BearerAsync(token));
        auth.Time.Advance(TimeSpan.FromSeconds(1));
        AuthAssert.Unauthenticated(await auth.BearerAsync(token), Reasons.Expired);
    }

    [Fact]
    public async Task Cache_HitOnAnotherMethod_AudienceCheckedForThatMethod()
    {
        await using var auth = await AuthHarness.StartAsync();
        var token = auth.Token(aud: ["extra-aud"]);

        AuthAssert.Verified(await auth.BearerAsync(token, ExtraAudience));
        Assert.Equal(1, auth.Cache.Count);

        AuthAssert.Refused(await auth.BearerAsync(token, Strict), Esp.Grpc.StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
        AuthAssert.Unauthenticated(await auth.BearerAsync(token, Other), Reasons.UnknownIssuer);
        Assert.Equal(1, auth.FetchCount());
    }

    [Fact]
    public async Task Cache_SizeZero_NothingCached()
    {
        await using var auth = await StartAsync(cacheSize: 0);
        var token = auth.Token();

        AuthAssert.Verified(await auth.BearerAsync(token));
        AuthAssert.Verified(await auth.BearerAsync(token));

        Assert.Equal(0, auth.Cache.Count);
        Assert.False(auth.Cache.TryGet(token, auth.Time.GetUtcNow(), out _));
    }

    [Fact]
    public async Task Cache_AtCapacity_LeastRecentlyUsedEvicted()
    {
        await using var auth = await StartAsync(cacheSize: 2);
        var (first, second, third) = (auth.Token(extra: new JsonObject { ["n"] = 1 }), auth.Token(extra: new JsonObject { ["n"] = 2 }), auth.Token(extra: new JsonObject { ["n"] = 3 }));

        AuthAssert.Verified(await auth.BearerAsync(first));
        AuthAssert.Verified(await auth.BearerAsync(second));
        AuthAssert.Verified(await auth.BearerAsync(first));
        AuthAssert.Verified(await auth.BearerAsync(third));

        var now = auth.Time.GetUtcNow();
        Assert.Equal(2, auth.Cache.Count);
        Assert.True(auth.Cache.TryGet(first, now, out _));
        Assert.False(auth.Cache.TryGet(second, now, out _));
        Assert.True(auth.Cache.TryGet(third, now, out _));
    }

    [Fact]
    public async Task Cache_H11_KeyRemovedFromJwks_CachedTokenAcceptedAtMostFiveMinutes()
    {
        await using var auth = await StartAsync();
        var token = auth.Token();
        AuthAssert.Verified(await auth.BearerAsync(token));
        auth.Server.Serve("/jwks", TestTokens.Jwks(TestKeys.Rsa2));
        auth.Time.Advance(TimeSpan.FromSeconds(270));
        await auth.Logger.WaitForAsync("KeysFetched", 2).DefaultTimeout();

        AuthAssert.Verified(await auth.BearerAsync(token));
        AuthAssert.Unauthenticated(await auth.BearerAsync(auth.Token()), Reasons.NoMatchingKey);

        auth.Time.Advance(VerifiedTokenCache.MaxEntryLifetime - TimeSpan.FromSeconds(270));
        AuthAssert.Unauthenticated(await auth.BearerAsync(token), Reasons.NoMatchingKey);
    }
}
