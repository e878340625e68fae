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

    [Theory]
    [InlineData("00:00:00", false)]
    [InlineData("800.00:00:00", false)]
    [InlineData("1095.00:00:00", false)]
    [InlineData("1096.00:00:00", true)]
    [InlineData("3650.00:00:00", true)]
    public void Retention_IsAtLeastTheLongestRecordKeepingPeriodOfTheProfiles(string retention, bool valid)
    {
        var validator = new ComplianceOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development }, new ConfigurationBuilder().Build());
        var options = new ComplianceOptions();
        options.Audit.Retention = TimeSpan.Parse(retention, System.Globalization.CultureInfo.InvariantCulture);

        var result = validator.Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Compliance:Audit:Retention must be at least 1096.00:00:00: US-REGF keeps records 1096 days", result.FailureMessage, StringComparison.Ordinal);
            Assert.Contains("12 CFR 1006.100", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Retention_Unset_IsTheLongestRecordKeepingPeriodOfTheProfiles()
    {
        Assert.Equal(TimeSpan.FromDays(1096), new ComplianceOptions().Audit.RetentionPeriod(Compliance.Domain.Policies.ProfileCatalog.BuiltIn));
    }
}
