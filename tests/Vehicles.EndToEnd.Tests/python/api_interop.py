#!/usr/bin/python3
"""Drives the Vehicles API with Debian's python3-grpcio (the C core): a client nobody here wrote.

    api_interop.py --target 127.0.0.1:PORT --descriptors FILE --params JSON

Message classes are built from a descriptor set (Debian's protobuf 4.21 cannot load code from protoc 35). The
main flow: a vehicle connects (Hello, Welcome), reports, receives a command and answers it; an operator reads the
vehicle, sends the command and reads its final state; a call without a token is refused. Prints one JSON object
and exits 0; exit code 3 means grpcio or protobuf is missing. Every call has a deadline.
"""

import argparse
import json
import queue
import sys

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as error:  # pragma: no cover - exercised only on a machine without the packages
    print("python3-grpcio/python3-protobuf missing for %s (%s)" % (sys.executable, error), file=sys.stderr)
    sys.exit(3)

TIMEOUT = 20.0
LINK = "/vehicles.v1.VehicleLink/"
FLEET = "/vehicles.v1.FleetOperator/"


class Messages:
    def __init__(self, path):
        files = descriptor_pb2.FileDescriptorSet()
        with open(path, "rb") as stream:
            files.ParseFromString(stream.read())
        self._pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            self._pool.Add(file)
        self._factory = message_factory.MessageFactory(self._pool)

    def cls(self, name):
        return self._factory.GetPrototype(self._pool.FindMessageTypeByName("vehicles.v1." + name))


def unary(channel, messages, path, request_type, response_type, request, token):
    call = channel.unary_unary(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=messages.cls(response_type).FromString,
    )
    metadata = [("authorization", "Bearer " + token)] if token else []
    return call(request, timeout=TIMEOUT, metadata=metadata)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--descriptors", required=True)
    parser.add_argument("--params", required=True)
    args = parser.parse_args()
    params = json.loads(args.params)
    messages = Messages(args.descriptors)
    VehicleMessage = messages.cls("VehicleMessage")
    result = {}

    with grpc.insecure_channel(args.target) as channel:
        outbound = queue.Queue()

        def requests():
            while True:
                item = outbound.get(timeout=TIMEOUT)
                if item is None:
                    return
                yield item

        connect = channel.stream_stream(
            LINK + "Connect",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=messages.cls("ServerMessage").FromString,
        )
        responses = connect(requests(), timeout=TIMEOUT * 2, metadata=[("authorization", "Bearer " + params["vehicle_token"])])

        hello = VehicleMessage()
        hello.hello.vin = params["vin"]
        hello.hello.firmware_version = "py-fw"
        outbound.put(hello)
        welcome = next(responses)
        result["first"] = welcome.WhichOneof("kind")
        result["session_id_set"] = bool(welcome.welcome.session_id)

        report = VehicleMessage()
        report.status.sequence = 1
        report.status.capture_time.seconds = params["now_seconds"]
        report.status.signals.speed = 33.5
        report.status.signals.state_of_charge = 71
        outbound.put(report)
        ack = next(responses)
        result["ack_sequence"] = ack.ack.sequence

        operator = params["operator_token"]
        GetVehicleRequest = messages.cls("GetVehicleRequest")
        vehicle = unary(channel, messages, FLEET + "GetVehicle", "GetVehicleRequest", "Vehicle", GetVehicleRequest(vin=params["vin"]), operator)
        result["speed"] = vehicle.signals.speed
        result["state_of_charge"] = vehicle.signals.state_of_charge
        result["fleet_id"] = vehicle.fleet_id
        result["online"] = vehicle.connection_state == 1

        SendCommandRequest = messages.cls("SendCommandRequest")
        send = SendCommandRequest(vin=params["vin"], name="set_charge_limit")
        send.parameters.set_charge_limit.percent = 80
        sent = unary(channel, messages, FLEET + "SendCommand", "SendCommandRequest", "SendCommandResponse", send, operator)

        delivery = next(responses)
        while delivery.WhichOneof("kind") != "command":
            delivery = next(responses)
        result["delivered_same_id"] = delivery.command.command_id == sent.command.command_id
        result["delivered_percent"] = delivery.command.parameters.set_charge_limit.percent

        answer = VehicleMessage()
        answer.command_result.command_id = delivery.command.command_id
        answer.command_result.outcome = 1
        answer.command_result.message = "limit set"
        outbound.put(answer)

        GetCommandRequest = messages.cls("GetCommandRequest")
        final = None
        for _ in range(200):
            final = unary(channel, messages, FLEET + "GetCommand", "GetCommandRequest", "Command",
                          GetCommandRequest(vin=params["vin"], command_id=sent.command.command_id), operator)
            if final.state >= 3:
                break
            channel_ready = grpc.channel_ready_future(channel)
            channel_ready.result(timeout=TIMEOUT)
        result["final_state"] = final.state
        result["final_message"] = final.status_message

        outbound.put(None)
        for _ in responses:
            pass
        result["stream_code"] = "OK"

        try:
            unary(channel, messages, FLEET + "GetVehicle", "GetVehicleRequest", "Vehicle", GetVehicleRequest(vin=params["vin"]), None)
            result["anonymous_code"] = "OK"
        except grpc.RpcError as error:
            result["anonymous_code"] = error.code().name

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
