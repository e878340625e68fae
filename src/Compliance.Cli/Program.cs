using Compliance.Cli;

var parseResult = CliApp.CreateRootCommand().Parse(args);
return parseResult.Errors.Count > 0
    ? CliApp.ReportUsageErrors(parseResult)
    : await parseResult.InvokeAsync();
