using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Esp.Tests.Infrastructure;

/// <summary>
/// The one way tests start a server of their own: Kestrel on 127.0.0.1, port 0, quiet logs.
/// The caller builds the pipeline; the bound port comes back.
/// </summary>
internal static class LoopbackKestrel
{
    public static async Task<(WebApplication App, int Port)> StartAsync(HttpProtocols protocols, Action<WebApplication> pipeline, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = protocols;
                if (certificate is not null)
                    listen.UseHttps(certificate);
            });
        });
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        var app = builder.Build();
        pipeline(app);
        await app.StartAsync().DefaultTimeout();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address).Port);
    }
}
