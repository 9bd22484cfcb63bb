#!/usr/bin/python3
"""Drives the Vehicles silo's gRPC API with Debian's python3-grpcio (the C core): a client nobody here wrote.

Run with /usr/bin/python3 -I. Debian's protobuf (3.21 runtime, package 4.21) cannot load Python code generated
by protoc 35, so message classes are built at run time from a descriptor set the tests write, and every method
is called through channel.unary_unary(path, ...) and friends. The reflection case builds its classes from what
the server's reflection service returns, and nothing else.

    grpc_interop.py --target 127.0.0.1:PORT --descriptors FILE CASE [--params JSON]

Prints one JSON object on stdout (what the call observed: messages as JSON with proto field names, status code
name, details, metadata) and exits 0; the xunit tests assert on it. Exit code 3 means grpcio or protobuf is not
installed, 2 a bad argument. Streaming cases print one {"event": ...} line per message before the result and
read commands from stdin while the call runs (see case_stream). Every wait is bounded.
"""

import argparse
import base64
import gzip
import json
import queue
import sys
import threading
import time

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
except ImportError as error:  # pragma: no cover - exercised only on a machine without the packages
    print(
        "python3-grpcio/python3-protobuf missing for %s (%s): run scripts/test.sh or "
        "scripts/servers.sh start, which install them with apt-get" % (sys.executable, error),
        file=sys.stderr,
    )
    sys.exit(3)

# Every call carries a deadline so that a hung server fails the test instead of hanging it.
CALL_TIMEOUT = 20.0
REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


class Messages:
    """Message classes built from descriptors (a descriptor set file, or FileDescriptorProtos)."""

    def __init__(self, files):
        self._pool = descriptor_pool.DescriptorPool()
        for file in files:
            self._pool.Add(file)
        self._factory = message_factory.MessageFactory(self._pool)

    @staticmethod
    def from_file(path):
        files = descriptor_pb2.FileDescriptorSet()
        with open(path, "rb") as stream:
            files.ParseFromString(stream.read())
        return Messages(files.file)

    def get(self, full_name):
        return self._factory.GetPrototype(self._pool.FindMessageTypeByName(full_name))

    def parse(self, full_name, fields):
        """A message from a JSON-like dict with proto field names (json_format, so enums by name, Timestamps as RFC 3339)."""
        return json_format.ParseDict(fields or {}, self.get(full_name)())

    def method(self, full_name):
        return self._pool.FindMethodByName(full_name)


def to_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def metadata_to_json(metadata):
    if metadata is None:
        return None
    result = []
    for key, value in metadata:
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        result.append([key, value])
    return result


def error_to_json(error):
    return {
        "code": error.code().name,
        "details": error.details(),
        "trailing_metadata": metadata_to_json(error.trailing_metadata()),
    }


def call_options(params):
    """timeout, metadata (authorization from "token", then "metadata" pairs; -bin values base64) and gzip."""
    options = {"timeout": params.get("timeout", CALL_TIMEOUT)}
    metadata = []
    if params.get("token"):
        metadata.append(("authorization", "Bearer " + params["token"]))
    for key, value in params.get("metadata", []):
        metadata.append((key, base64.b64decode(value) if key.endswith("-bin") else value))
    if metadata:
        options["metadata"] = metadata
    if params.get("gzip"):
        options["compression"] = grpc.Compression.Gzip
    return options


def print_event(event):
    print(json.dumps(event, ensure_ascii=True), flush=True)


class Client:
    def __init__(self, target, messages, options=None):
        self.messages = messages
        self.channel = grpc.insecure_channel(target, options=options or [])

    def stub(self, kind, path, response_type, request_serializer=None):
        return getattr(self.channel, kind)(
            path,
            request_serializer=request_serializer or (lambda m: m.SerializeToString()),
            response_deserializer=self.messages.get(response_type).FromString,
        )

    def close(self):
        self.channel.close()


def request_of(client, params):
    """The request message of a call: "request" as JSON, or "request_b64" as raw bytes (sent as they are).

    "pad": {"field": NAME, "size": N} sets a string field to N letters, for messages too big for a command line.
    """
    if "request_b64" in params:
        return base64.b64decode(params["request_b64"]), (lambda raw: raw)
    fields = dict(params.get("request") or {})
    if "pad" in params:
        fields[params["pad"]["field"]] = "A" * params["pad"]["size"]
    return client.messages.parse(params["request_type"], fields), None


# ---------------------------------------------------------------------------------------------- cases


def case_call(client, params):
    """One unary call: params method, request_type, response_type, request, plus call_options' keys."""
    request, serializer = request_of(client, params)
    stub = client.stub("unary_unary", params["method"], params["response_type"], serializer)
    started = time.monotonic()
    try:
        reply, call = stub.with_call(request, **call_options(params))
        result = {
            "code": call.code().name,
            "details": call.details(),
            "reply": to_json(reply),
            "initial_metadata": metadata_to_json(call.initial_metadata()),
            "trailing_metadata": metadata_to_json(call.trailing_metadata()),
        }
    except grpc.RpcError as error:
        result = error_to_json(error)
    result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return result


def case_calls_concurrent(client, params):
    """params["count"] copies of one unary call in flight at once on one channel (one HTTP/2 connection)."""
    request, serializer = request_of(client, params)
    stub = client.stub("unary_unary", params["method"], params["response_type"], serializer)
    futures = [stub.future(request, **call_options(params)) for _ in range(params.get("count", 100))]
    codes, replies = [], []
    for future in futures:
        try:
            replies.append(to_json(future.result()))
            codes.append("OK")
        except grpc.RpcError as error:
            replies.append(None)
            codes.append(error.code().name)
    return {"codes": codes, "replies": replies}


def case_stream(client, params):
    """A server-streaming or bidirectional call that the test steers.

    params: kind ("unary_stream" or "stream_stream"), method, request_type, response_type, request (the one request,
    or the first message of a bidirectional stream), plus call_options' keys. Prints {"event": "message", "message": ..}
    for every response. Reads stdin lines while the call runs: {"send": {...}} sends a message on a bidirectional
    stream, {"close": true} half-closes it, {"cancel": true} cancels the call. "take" cancels after that many messages.
    """
    outgoing = queue.Queue()
    bidirectional = params.get("kind", "unary_stream") == "stream_stream"

    def requests():
        while True:
            item = outgoing.get(timeout=CALL_TIMEOUT * 3)
            if item is None:
                return
            yield item

    stub = client.stub(params.get("kind", "unary_stream"), params["method"], params["response_type"])
    first = client.messages.parse(params["request_type"], params.get("request"))
    if bidirectional:
        outgoing.put(first)
        call = stub(requests(), **call_options(params))
    else:
        call = stub(first, **call_options(params))

    def commands():
        for line in sys.stdin:
            command = json.loads(line)
            if "send" in command:
                outgoing.put(client.messages.parse(params["request_type"], command["send"]))
            elif command.get("close"):
                outgoing.put(None)
            elif command.get("cancel"):
                call.cancel()
                outgoing.put(None)
                return

    threading.Thread(target=commands, daemon=True).start()
    messages = []
    result = {}
    try:
        for message in call:
            messages.append(to_json(message))
            print_event({"event": "message", "message": messages[-1]})
            if len(messages) == params.get("take", 0):
                call.cancel()
        result.update({"code": call.code().name, "details": call.details(),
                       "trailing_metadata": metadata_to_json(call.trailing_metadata())})
    except grpc.RpcError as error:
        result.update(error_to_json(error))
    outgoing.put(None)
    result["messages"] = messages
    return result


def case_main_flow(client, params):
    """A vehicle on Connect (Hello, Welcome; a report, its ack; a command, its result) and an operator beside it."""
    link = "/vehicles.v1.VehicleLink/"
    fleet = "/vehicles.v1.FleetOperator/"
    m = client.messages
    vin = params["vin"]
    operator = {"token": params["operator_token"]}
    outgoing = queue.Queue()

    def requests():
        while True:
            item = outgoing.get(timeout=CALL_TIMEOUT)
            if item is None:
                return
            yield item

    connect = client.stub("stream_stream", link + "Connect", "vehicles.v1.ServerMessage")
    responses = connect(requests(), **call_options({"token": params["vehicle_token"], "timeout": CALL_TIMEOUT * 2}))
    result = {}

    outgoing.put(m.parse("vehicles.v1.VehicleMessage", {"hello": {"vin": vin, "firmware_version": "py-fw-1.2"}}))
    result["welcome"] = to_json(next(responses))

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    outgoing.put(m.parse("vehicles.v1.VehicleMessage", {"status": {
        "sequence": 1, "capture_time": now, "signals": {"speed": 33.5, "state_of_charge": 71}}}))
    result["ack"] = to_json(next(responses))

    get_vehicle = client.stub("unary_unary", fleet + "GetVehicle", "vehicles.v1.Vehicle")
    result["vehicle"] = to_json(get_vehicle(m.parse("vehicles.v1.GetVehicleRequest", {"vin": vin}), **call_options(operator)))

    # The operator waits for the result while the vehicle carries the command out.
    send = client.stub("unary_unary", fleet + "SendCommand", "vehicles.v1.SendCommandResponse")
    sent = send.future(m.parse("vehicles.v1.SendCommandRequest", {
        "vin": vin, "name": "set_charge_limit", "parameters": {"set_charge_limit": {"percent": 80}},
        "wait_for_result": True}), **call_options(operator))
    delivery = next(responses)
    while delivery.WhichOneof("kind") != "command":
        delivery = next(responses)
    result["delivery"] = to_json(delivery)
    outgoing.put(m.parse("vehicles.v1.VehicleMessage", {"command_result": {
        "command_id": delivery.command.command_id, "outcome": "COMMAND_OUTCOME_SUCCEEDED", "message": "limit set",
        "payload": {"percent": 80}}}))
    result["sent"] = to_json(sent.result(timeout=CALL_TIMEOUT))

    get_command = client.stub("unary_unary", fleet + "GetCommand", "vehicles.v1.Command")
    result["command"] = to_json(get_command(m.parse("vehicles.v1.GetCommandRequest", {
        "vin": vin, "command_id": delivery.command.command_id}), **call_options(operator)))

    # Half-close: the server ends the stream with OK and the vehicle goes offline.
    outgoing.put(None)
    result["after_close"] = [to_json(message) for message in responses]
    result["stream_code"] = responses.code().name
    return result


def describe_file(file):
    return {
        "name": file.name,
        "package": file.package,
        "dependencies": list(file.dependency),
        "services": [
            {"name": s.name, "methods": [
                {"name": m.name, "input": m.input_type, "output": m.output_type,
                 "client_streaming": m.client_streaming, "server_streaming": m.server_streaming}
                for m in s.method
            ]}
            for s in file.service
        ],
    }


class Reflection:
    """One ServerReflectionInfo stream, one request at a time (as grpcurl uses it)."""

    def __init__(self, client):
        self._requests = queue.Queue()
        self._request_type = client.messages.get("grpc.reflection.v1.ServerReflectionRequest")

        def requests():
            while True:
                item = self._requests.get(timeout=CALL_TIMEOUT)
                if item is None:
                    return
                yield item

        stub = client.stub("stream_stream", REFLECTION, "grpc.reflection.v1.ServerReflectionResponse")
        self._call = stub(requests(), timeout=CALL_TIMEOUT)

    def ask(self, **fields):
        self._requests.put(self._request_type(**fields))
        return next(self._call)

    def close(self):
        self._requests.put(None)
        for _ in self._call:
            pass
        return self._call.code().name


def case_reflection(client, params):
    """Sends the given reflection requests on one stream; decodes every answer."""
    reflection = Reflection(client)
    answers = []
    for fields in params["requests"]:
        response = reflection.ask(**fields)
        kind = response.WhichOneof("message_response")
        answer = {"kind": kind, "original_request": response.original_request.WhichOneof("message_request")}
        if kind == "list_services_response":
            answer["services"] = [s.name for s in response.list_services_response.service]
        elif kind == "file_descriptor_response":
            files = []
            for serialized in response.file_descriptor_response.file_descriptor_proto:
                file = descriptor_pb2.FileDescriptorProto()
                file.ParseFromString(serialized)
                files.append(describe_file(file))
            answer["files"] = files
        elif kind == "error_response":
            answer["error_code"] = response.error_response.error_code
            answer["error_message"] = response.error_response.error_message
        answers.append(answer)
    return {"code": reflection.close(), "answers": answers}


def case_grpcurl(client, params):
    """What grpcurl does: list the services, resolve each one's file (and its imports) by reflection, and call one
    method of each with a request built from those descriptors alone (none of the descriptor set given to this script).

    params["calls"]: {"service": "vehicles.v1.FleetOperator", "method": "GetVehicle", "request": {...}, "token": ..}.
    """
    reflection = Reflection(client)
    services = [s.name for s in reflection.ask(list_services="").list_services_response.service]
    files = {}

    def resolve(response):
        for serialized in response.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto()
            file.ParseFromString(serialized)
            files.setdefault(file.name, file)

    for name in services:
        if name.startswith("vehicles.v1."):
            resolve(reflection.ask(file_containing_symbol=name))
    # Imports the server did not send with the file are asked for by name.
    missing = [d for f in list(files.values()) for d in f.dependency if d not in files]
    while missing:
        resolve(reflection.ask(file_by_filename=missing.pop()))
        missing = [d for f in list(files.values()) for d in f.dependency if d not in files]
    stream_code = reflection.close()

    ordered, placed = [], set()

    def place(name):
        if name not in placed:
            placed.add(name)
            for dependency in files[name].dependency:
                place(dependency)
            ordered.append(files[name])

    for name in sorted(files):
        place(name)
    reflected = Messages(ordered)

    calls = []
    for spec in params["calls"]:
        method = reflected.method(spec["service"] + "." + spec["method"])
        request = reflected.parse(method.input_type.full_name, spec.get("request"))
        stub = client.channel.unary_unary(
            "/%s/%s" % (spec["service"], spec["method"]),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=reflected.get(method.output_type.full_name).FromString,
        )
        entry = {"service": spec["service"], "method": spec["method"],
                 "input": method.input_type.full_name, "output": method.output_type.full_name}
        try:
            entry.update({"code": "OK", "reply": to_json(stub(request, **call_options(spec)))})
        except grpc.RpcError as error:
            entry.update(error_to_json(error))
        calls.append(entry)
    return {"services": services, "files": sorted(files), "reflection_code": stream_code, "calls": calls}


def case_gzip_size(client, params):
    """How big a message of params["request_type"] is, plain and gzipped (to check what a test sends)."""
    request, _ = request_of(client, params)
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    return {"plain": len(raw), "gzip": len(gzip.compress(raw))}


CASES = {name[len("case_"):]: function for name, function in globals().items() if name.startswith("case_")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--descriptors", required=True)
    parser.add_argument("--params", default="{}", help="JSON object of case parameters")
    parser.add_argument("case", choices=sorted(CASES))
    arguments = parser.parse_args()

    client = Client(arguments.target, Messages.from_file(arguments.descriptors))
    try:
        grpc.channel_ready_future(client.channel).result(timeout=CALL_TIMEOUT)
        result = CASES[arguments.case](client, json.loads(arguments.params))
    finally:
        client.close()
    result["grpcio"] = grpc.__version__
    print(json.dumps(result, ensure_ascii=True), flush=True)


if __name__ == "__main__":
    main()
