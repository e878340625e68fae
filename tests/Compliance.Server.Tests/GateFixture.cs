using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Compliance.Server.Tests;

/// <summary>The in-process server with a pinned clock, so the gate's own time can be set by the test, and any settings given.</summary>
public sealed class GateFixture(params (string Key, string Value)[] settings) : ServerFixture
{
    /// <summary>Friday 2026-11-27 13:59 UTC: 08:59 in New York, 21:59 in Shanghai.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 27, 13, 59, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Start);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
    }
}
