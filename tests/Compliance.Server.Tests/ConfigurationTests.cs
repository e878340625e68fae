using Compliance.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace Compliance.Server.Tests;

/// <summary>The settings checked at start: a wrong or retired one stops the service with a message naming it.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Compliance:Ingest:KeepMessageBodies", "true", "evidence.keep_message_bodies")]
    [InlineData("Compliance:Ingest:BlastThreshold", "5", "BASE.address-book-blast")]
    [InlineData("Compliance:Ingest:BlastWindow", "2.00:00:00", "BASE.address-book-blast")]
    public void SettingsThatBecamePolicyData_StopTheServer_SayingWhereTheyWent(string setting, string value, string instead)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(setting, value)]).Build();
        var validator = new ComplianceOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development }, configuration);

        var result = validator.Validate(null, new ComplianceOptions());

        Assert.True(result.Failed);
        Assert.Contains(setting, result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(instead, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultSettings_PassInDevelopment()
    {
        var validator = new ComplianceOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development }, new ConfigurationBuilder().Build());

        var result = validator.Validate(null, new ComplianceOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
