using BenchmarkDotNet.Running;

// Run every benchmark: dotnet run -c Release --project tests/Compliance.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Compliance.Benchmarks.Scenarios).Assembly).Run(args);
