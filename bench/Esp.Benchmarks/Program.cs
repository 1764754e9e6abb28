using BenchmarkDotNet.Running;

// `dotnet run -c Release -- --filter '*'` (or bench/micro.sh). Every benchmark runs in this
// process (--inProcess): BenchmarkDotNet's default toolchain would generate a project, rebuild
// this one and Esp.Grpc into the repository's artifacts/ folder and put the generated project
// under the repository's Directory.Build.props; in-process runs avoid all three.
string[] arguments = args.Any(a => a is "--inProcess" or "-i") ? args : [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(Esp.Benchmarks.JwtBenchmarks).Assembly).Run(arguments);
