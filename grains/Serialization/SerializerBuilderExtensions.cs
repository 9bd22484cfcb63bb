using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Serializers;

namespace Vehicles.Grains.Serialization;

/// <summary>Registers <see cref="ProtobufMessageCodec"/> with Orleans' serializer.</summary>
public static class SerializerBuilderExtensions
{
    /// <summary>
    /// Serializes and copies every Google.Protobuf message with <see cref="ProtobufMessageCodec"/>. Call it on every
    /// silo and client (<c>siloBuilder.Services.AddSerializer(s =&gt; s.AddProtobufMessages())</c>); idempotent.
    /// </summary>
    public static ISerializerBuilder AddProtobufMessages(this ISerializerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ProtobufMessageCodec)))
        {
            return builder;
        }

        services.TryAddSingleton<ProtobufMessageCodec>();
        services.AddSingleton<IGeneralizedCodec>(sp => sp.GetRequiredService<ProtobufMessageCodec>());
        services.AddSingleton<IGeneralizedCopier>(sp => sp.GetRequiredService<ProtobufMessageCodec>());
        services.AddSingleton<ITypeFilter>(sp => sp.GetRequiredService<ProtobufMessageCodec>());
        builder.Configure(options => options.WellKnownTypeAliases[ProtobufMessageCodec.WellKnownAlias] = typeof(ProtobufMessageCodec));
        return builder;
    }
}
