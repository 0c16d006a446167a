"""Pusher's executor: TFX's own, its destination built from the `serving_model_dir`
parameter (docs/design.md, "Component shape")."""
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

SERVING_MODEL_DIR = "serving_model_dir"


def push_destination(serving_model_dir: str) -> str:
    """TFX's `push_destination` execution property (JSON) for a directory."""
    return proto_utils.proto_to_json(pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)))


class Executor(tfx_pusher_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        super().Do(input_dict, output_dict, {**exec_properties, standard_component_specs.PUSH_DESTINATION_KEY:
                                             push_destination(exec_properties[SERVING_MODEL_DIR])})
