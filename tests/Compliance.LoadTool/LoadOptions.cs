using System.Globalization;

namespace Compliance.LoadTool;

/// <summary>The command line: sizes of the run and its time limit.</summary>
internal sealed record LoadOptions(int Events, int Batch, int Streams, int Accounts, int Outstanding, int CommitSize, TimeSpan Timeout, int Warmup, int Rate = 0,
    bool Realistic = false, int Callers = 0, long HistoryRows = 0)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project tests/Compliance.LoadTool -- [options]
               dotnet run -c Release --project tests/Compliance.LoadTool -- gate [calls]       (gate latency)
               dotnet run -c Release --project tests/Compliance.LoadTool -- ledger [events]    (verifying the record of many events)
               dotnet run -c Release --project tests/Compliance.LoadTool -- memory [registered] [active]  (memory per account)
          --events N       events to send (default 200000)
          --batch N        events per StreamRequest (default 100)
          --streams N      concurrent EventIngestService.Stream calls (default 4)
          --workload W     dense (default): 10,000 accounts, every event within the last hour, so each
                           borrower's history grows with the run (the worst case); realistic: 1,000,000
                           accounts, a few contacts each in the daytime hours of the last 7 days
          --accounts N     accounts registered on the server (default 10000; 1000000 for realistic)
          --outstanding N  unacknowledged batches allowed per stream (default 16)
          --commit N       events per transaction in the storage run; the server's MaxBatch (default 2000)
          --timeout SECS   stop everything after this long (default 300)
          --warmup N       events sent first, unmeasured, to accounts of their own, in all three runs,
                           so the runtime has compiled its hot paths (default 400000; 0 for none).
                           The runtime optimises a method after about 60 calls (30 plain, 30 measured
                           for profile-guided optimisation): methods called once per group commit need
                           that many commits. After 150000 events the measured run still compiled about
                           3,100 methods, the ingest's own among them; after 400000, under 200.
          --rate N         send the service run's events at N per second, not as fast as it takes them,
                           to see the gate's latency under a given ingest load (the limits are not paced)
          --callers N      the mixed mode: N callers ask the gate back to back during the service run, as
                           a dialer's lines beside its event feed (with --rate: both at a given load)
          --history-rows N the server's Compliance:Ingest:HistoryCacheRows (default: the server's, 2,000,000):
                           the attempts its ingest keeps in memory over all borrowers. The dense workload's
                           windows hold every event of the run; past the bound, borrowers are read again
        """;

    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions(200_000, 100, 4, 10_000, 16, 2000, TimeSpan.FromMinutes(5), 400_000);
        var accountsGiven = args.Contains("--accounts");
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                throw new ArgumentException(Usage);
            }

            if (name == "--workload" && i + 1 < args.Length && args[i + 1] is "dense" or "realistic")
            {
                var realistic = args[++i] == "realistic";
                options = options with { Realistic = realistic, Accounts = realistic && !accountsGiven ? 1_000_000 : options.Accounts };
                continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || (value < 1 && name != "--warmup"))
            {
                throw new ArgumentException($"{name} needs a positive whole number.\n{Usage}");
            }

            i++;
            options = name switch
            {
                "--events" => options with { Events = value },
                "--batch" => options with { Batch = value },
                "--streams" => options with { Streams = value },
                "--accounts" => options with { Accounts = value },
                "--outstanding" => options with { Outstanding = value },
                "--commit" => options with { CommitSize = value },
                "--timeout" => options with { Timeout = TimeSpan.FromSeconds(value) },
                "--warmup" => options with { Warmup = value },
                "--rate" => options with { Rate = value },
                "--callers" => options with { Callers = value },
                "--history-rows" => options with { HistoryRows = value },
                _ => throw new ArgumentException($"Unknown option {name}.\n{Usage}"),
            };
        }

        return options;
    }
}
