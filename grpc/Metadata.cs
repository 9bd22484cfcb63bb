using System.Collections;
using System.Text;

namespace Vehicles.Grpc;

/// <summary>
/// Call headers or trailers: an ordered list of key/value entries. Keys are lower-case ASCII
/// (<c>a-z 0-9 - _ .</c>); keys ending in <c>-bin</c> carry binary values, sent base64-encoded, and all
/// other keys carry printable ASCII strings. A key may appear more than once.
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    /// <summary>The suffix that marks a key whose values are binary.</summary>
    public const string BinaryHeaderSuffix = "-bin";

    /// <summary>An empty, read-only instance.</summary>
    public static readonly Metadata Empty = new() { _readOnly = true };

    private readonly List<Entry> _entries = [];
    private bool _readOnly;

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether entries may no longer be added or removed.</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>Gets or replaces the entry at an index.</summary>
    public Entry this[int index]
    {
        get => _entries[index];
        set
        {
            ThrowIfReadOnly();
            ArgumentNullException.ThrowIfNull(value);
            _entries[index] = value;
        }
    }

    /// <summary>Adds an entry with a string value.</summary>
    public Metadata Add(string key, string value)
    {
        Add(new Entry(key, value));
        return this;
    }

    /// <summary>Adds an entry with a binary value; the key must end in <c>-bin</c>.</summary>
    public Metadata Add(string key, byte[] valueBytes)
    {
        Add(new Entry(key, valueBytes));
        return this;
    }

    /// <inheritdoc />
    public void Add(Entry item)
    {
        ThrowIfReadOnly();
        ArgumentNullException.ThrowIfNull(item);
        _entries.Add(item);
    }

    /// <summary>The last entry with the key, or <see langword="null"/>.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return _entries[i];
            }
        }

        return null;
    }

    /// <summary>Every entry with the key, in order.</summary>
    public IEnumerable<Entry> GetAll(string key) =>
        _entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>The string value of the last entry with the key, or <see langword="null"/>.</summary>
    public string? GetValue(string key) => Get(key)?.Value;

    /// <summary>The binary value of the last entry with the key, or <see langword="null"/>.</summary>
    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    /// <inheritdoc />
    public void Clear()
    {
        ThrowIfReadOnly();
        _entries.Clear();
    }

    /// <inheritdoc />
    public bool Contains(Entry item) => _entries.Contains(item);

    /// <inheritdoc />
    public void CopyTo(Entry[] array, int arrayIndex) => _entries.CopyTo(array, arrayIndex);

    /// <summary>Returns an enumerator of the entries; a struct, so that <c>foreach</c> allocates nothing.</summary>
    public Enumerator GetEnumerator() => new(_entries);

    IEnumerator<Entry> IEnumerable<Entry>.GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    /// <inheritdoc />
    public int IndexOf(Entry item) => _entries.IndexOf(item);

    /// <inheritdoc />
    public void Insert(int index, Entry item)
    {
        ThrowIfReadOnly();
        ArgumentNullException.ThrowIfNull(item);
        _entries.Insert(index, item);
    }

    /// <inheritdoc />
    public bool Remove(Entry item)
    {
        ThrowIfReadOnly();
        return _entries.Remove(item);
    }

    /// <inheritdoc />
    public void RemoveAt(int index)
    {
        ThrowIfReadOnly();
        _entries.RemoveAt(index);
    }

    /// <summary>Makes this instance read-only and returns it.</summary>
    public Metadata Freeze()
    {
        _readOnly = true;
        return this;
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new InvalidOperationException("This metadata is read-only.");
        }
    }

    /// <summary>Whether a key names binary values (ends in <c>-bin</c>).</summary>
    public static bool IsBinaryKey(string key) => key.EndsWith(BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Enumerates the entries of a <see cref="Metadata"/> in order, without allocating.</summary>
    public struct Enumerator : IEnumerator<Entry>
    {
        private List<Entry>.Enumerator _inner;

        internal Enumerator(List<Entry> entries)
        {
            _inner = entries.GetEnumerator();
        }

        /// <inheritdoc />
        public Entry Current => _inner.Current;

        object IEnumerator.Current => _inner.Current;

        /// <inheritdoc />
        public bool MoveNext() => _inner.MoveNext();

        /// <inheritdoc />
        public void Dispose() => _inner.Dispose();

        void IEnumerator.Reset() => throw new NotSupportedException();
    }

    /// <summary>One metadata entry.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _valueBytes;

        /// <summary>Creates an ASCII entry.</summary>
        /// <exception cref="ArgumentException">The key is not valid, ends in <c>-bin</c>, or the value is not printable ASCII.</exception>
        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (IsBinaryKey(Key))
            {
                throw new ArgumentException($"Key '{Key}' ends in '-bin' and needs a binary value.", nameof(key));
            }

            foreach (var c in value)
            {
                if (c < 0x20 || c > 0x7E)
                {
                    throw new ArgumentException($"The value of '{Key}' must be printable ASCII.", nameof(value));
                }
            }

            _value = value;
        }

        /// <summary>Creates a binary entry; the key must end in <c>-bin</c>.</summary>
        public Entry(string key, byte[] valueBytes)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(valueBytes);
            if (!IsBinaryKey(Key))
            {
                throw new ArgumentException($"Key '{Key}' carries a binary value and must end in '-bin'.", nameof(key));
            }

            _valueBytes = valueBytes;
        }

        /// <summary>The lower-case key.</summary>
        public string Key { get; }

        /// <summary>Whether the value is binary.</summary>
        public bool IsBinary => _valueBytes is not null;

        /// <summary>The string value.</summary>
        /// <exception cref="InvalidOperationException">The entry is binary.</exception>
        public string Value => _value ?? throw new InvalidOperationException($"Entry '{Key}' is binary: use ValueBytes.");

        /// <summary>The binary value; for an ASCII entry, its ASCII bytes.</summary>
        public byte[] ValueBytes => _valueBytes ?? Encoding.ASCII.GetBytes(_value!);

        /// <inheritdoc />
        public override string ToString() => IsBinary
            ? $"[Entry: key={Key}, valueBytes={_valueBytes!.Length} bytes]"
            : $"[Entry: key={Key}, value={_value}]";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var normalized = key.ToLowerInvariant();
            foreach (var c in normalized)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
                {
                    throw new ArgumentException($"Metadata key '{key}' has a character outside a-z, 0-9, '-', '_' and '.'.", nameof(key));
                }
            }

            return normalized;
        }
    }
}
