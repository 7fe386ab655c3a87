using System.Buffers;

namespace RawSse.Http;

/// <summary>
/// A request body as it arrives, in a pooled array that grows with it (doubling from 4 KiB), so a large declared
/// length costs nothing until the bytes are really there. Dispose returns the array.
/// </summary>
internal sealed class BodyBuffer : IDisposable
{
    private const int InitialBytes = 4096;
    private byte[] _array = [];
    private int _length;

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, _length);

    public void Append(in ReadOnlySequence<byte> bytes)
    {
        int needed = checked(_length + (int)bytes.Length);
        if (needed > _array.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(InitialBytes, _array.Length * 2)));
            _array.AsSpan(0, _length).CopyTo(grown);
            Return();
            _array = grown;
        }

        bytes.CopyTo(_array.AsSpan(_length));
        _length = needed;
    }

    public void Dispose()
    {
        Return();
        _array = [];
        _length = 0;
    }

    private void Return()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }
    }
}
