using System.Buffers;

namespace RawSse.Http;

/// <summary>
/// A request body as it arrives, in a pooled array that grows with it (doubling from 4 KiB), so a large declared
/// length costs nothing until the bytes are really there, and never past the length expected (so the last growth is
/// to the body's size, not twice it). Dispose returns the array.
/// </summary>
internal sealed class BodyBuffer(long expectedBytes = int.MaxValue) : IDisposable
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
            long doubled = Math.Min(Math.Max(InitialBytes, _array.Length * 2L), expectedBytes);
            var grown = ArrayPool<byte>.Shared.Rent((int)Math.Max(needed, doubled));
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
