namespace RawSse.Sse;

/// <summary>What a subscriber tells when its stream fails: the connection, which then closes.</summary>
internal interface IStreamOwner
{
    void Abort(DisconnectReason reason);
}
