namespace RawSse.Tests;

/// <summary>What the whole run shares and must stop at its end: the shared nats-server.</summary>
[SetUpFixture]
public sealed class TestRunEnd
{
    [OneTimeTearDown]
    public async Task StopSharedServers() => await NatsServer.DisposeSharedAsync();
}
