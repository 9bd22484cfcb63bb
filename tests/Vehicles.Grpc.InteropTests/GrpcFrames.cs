using Google.Protobuf;
using System.Buffers.Binary;

namespace Vehicles.Grpc.InteropTests;

/// <summary>gRPC's length-prefixed message framing (a flag byte, a big-endian length, the message), for the raw HTTP/2 tests.</summary>
internal static class GrpcFrames
{
    public const int HeaderLength = 5;

    public static byte[] Frame(IMessage message)
    {
        var bytes = message.ToByteArray();
        var framed = new byte[HeaderLength + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)bytes.Length);
        bytes.CopyTo(framed, HeaderLength);
        return framed;
    }

    /// <summary>The messages of a response body, each with its compressed flag; fails unless the frames cover the body exactly.</summary>
    public static List<(bool Compressed, byte[] Message)> Unframe(byte[] body)
    {
        var messages = new List<(bool, byte[])>();
        var offset = 0;
        while (offset < body.Length)
        {
            Assert.True(body.Length - offset >= HeaderLength, $"{body.Length - offset} bytes left, less than a frame header");
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 1));
            Assert.True(offset + HeaderLength + length <= body.Length, $"a frame of {length} bytes at {offset} runs past the body's {body.Length} bytes");
            messages.Add((body[offset] == 1, body[(offset + HeaderLength)..(offset + HeaderLength + length)]));
            offset += HeaderLength + length;
        }

        return messages;
    }
}
