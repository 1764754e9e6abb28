using Esp.Cli;

return await EspCommand.Create().Parse(args).InvokeAsync();
