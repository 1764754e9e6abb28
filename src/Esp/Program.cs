using Esp.Cli;
using Esp.Hosting;

// First, before anything rents from the shared ArrayPool (it reads its limits once).
ProcessTuning.Apply();
return await EspCommand.Create().Parse(args).InvokeAsync();
