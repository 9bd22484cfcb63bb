using Google.Protobuf.WellKnownTypes;

namespace Vehicles.Storage.Tests;

/// <summary>A grain with one protobuf state in the "vehicles" provider and one in the default provider, and reminders.</summary>
[Alias("vehicles.storage.tests.IStateGrain")]
public interface IStateGrain : IGrainWithStringKey
{
    Task SetAsync(string value, string defaultValue);

    Task<string[]> GetAsync();

    Task RegisterReminderAsync(string name);

    Task<string[]> ReminderNamesAsync();
}

public sealed class StateGrain(
    [PersistentState("storage-test-state", VehicleStorageSiloBuilderExtensions.StorageProviderName)] IPersistentState<StringValue> state,
    [PersistentState("storage-test-default-state")] IPersistentState<StringValue> defaultState)
    : Grain, IStateGrain, IRemindable
{
    public async Task SetAsync(string value, string defaultValue)
    {
        state.State = new StringValue { Value = value };
        await state.WriteStateAsync();
        defaultState.State = new StringValue { Value = defaultValue };
        await defaultState.WriteStateAsync();
    }

    public Task<string[]> GetAsync() => Task.FromResult(new[] { state.State.Value, defaultState.State.Value });

    public async Task RegisterReminderAsync(string name)
    {
        // Far in the future: the test checks that the registration survives, not that it fires.
        await this.RegisterOrUpdateReminder(name, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
    }

    public async Task<string[]> ReminderNamesAsync() =>
        (await this.GetReminders()).Select(reminder => reminder.ReminderName).Order().ToArray();

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
