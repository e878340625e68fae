using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Infrastructure;

/// <summary>Turns the start-up failures an operator can fix into one clear message and exit code 1.</summary>
internal static class StartupErrors
{
    public static int RunExplainingStartupErrors(this WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            app.Logger.LogCritical("The service cannot start: {Reason}", message);
            Console.Error.WriteLine($"compliance: cannot start: {message}");
            return 1;
        }
    }

    private static string? Explain(Exception e) => e switch
    {
        OptionsValidationException o => string.Join(" ", o.Failures),
        SchemaTooNewException s => s.Message,
        StoreInUseException s => s.Message,
        AggregateException { InnerExceptions.Count: 1 } a => Explain(a.InnerException!),
        _ => null,
    };
}
