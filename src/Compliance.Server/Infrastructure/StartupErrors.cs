using System.Net.Sockets;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Infrastructure;

/// <summary>Turns the start-up failures an operator can fix into one clear message and exit code 1.</summary>
internal static class StartupErrors
{
    /// <summary>True until the host has started; while it is, the host's and Kestrel's own failure logs (each with a
    /// stack trace) are left out, because the failure is explained in one line below, or rethrown whole.</summary>
    private static volatile bool _starting = true;

    private static readonly string[] QuietCategories = ["Microsoft.AspNetCore.Server.Kestrel", "Microsoft.Extensions.Hosting.Internal.Host"];

    /// <summary>
    /// One rule per quiet category, from Warning up. A rule without a category would replace the configured default
    /// level for every category (the most specific rule is the only one applied): it once made the service log at
    /// Trace everywhere, whatever Logging:LogLevel said.
    /// </summary>
    public static void QuietWhileStarting(ILoggingBuilder logging)
    {
        foreach (var category in QuietCategories)
        {
            logging.Services.Configure<LoggerFilterOptions>(o =>
                o.Rules.Add(new LoggerFilterRule(null, category, LogLevel.Warning, (_, _, level) => !(_starting && level >= LogLevel.Error))));
        }
    }

    public static int RunExplainingStartupErrors(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() => _starting = false);
        try
        {
            app.Run();
            return 0;
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            _starting = false;
            app.Logger.LogCritical("The service cannot start: {Reason}", message);
            Console.Error.WriteLine($"compliance: cannot start: {message}");
            return 1;
        }
        finally
        {
            _starting = false;
        }
    }

    private static string? Explain(Exception e) => e switch
    {
        OptionsValidationException o => string.Join(" ", o.Failures),
        SchemaTooNewException s => s.Message,
        StoreInUseException s => s.Message,
        IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } or
            SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } =>
            $"the address is already in use ({FirstLine(e.Message)}): another process listens there; stop it or choose another with --urls.",
        IOException { InnerException: SocketException { SocketErrorCode: SocketError.AccessDenied } } =>
            $"no permission to listen ({FirstLine(e.Message)}); choose a port above 1023 with --urls.",
        AggregateException { InnerExceptions.Count: 1 } a => Explain(a.InnerException!),
        _ when e.GetType().Name == "AddressInUseException" => $"the address is already in use ({FirstLine(e.Message)}); choose another with --urls.",
        _ when e.InnerException is { } inner && inner.GetType().Name == "AddressInUseException" =>
            $"the address is already in use ({FirstLine(e.Message)}): another process listens there; stop it or choose another with --urls.",
        _ => null,
    };

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
