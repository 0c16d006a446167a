"""StudentTrainer: one of the student's networks, trained on the soft ⊕ hard targets of
the training videos through StudentTransform's graph; a pipeline has one per network,
and the Distiller averages them (components/student/distill.py)."""
import json
import os

import tf_keras
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from common.errors import UserError
from components import artifact_properties
from components.student import distill
from components.student.config import StudentConfig
from schemas.video_level import NUM_CLASSES


@component
def StudentTrainer(
    soft_labels: InputArtifact[y8m_types.SoftLabels],
    transform_graph: InputArtifact[TransformGraph],
    network: OutputArtifact[y8m_types.StudentNetwork],
    student_config: Parameter[str],
    network_index: Parameter[int],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
):
    """`network_index`: which of the student's networks (`StudentConfig.networks()`, copies expanded)."""
    config = StudentConfig.from_json(student_config)
    count = len(config.networks())
    if not 0 <= network_index < count:
        raise UserError(f"student network {network_index} is outside 0..{count - 1}")
    trained, summary = distill.train_network(soft_labels, config, network_index, num_folds, num_classes,
                                             transform_graph.uri, log_dir=os.path.join(network.uri, "logs"))
    distill.save_network(trained, network.uri)
    network.set_int_custom_property(artifact_properties.NETWORK_INDEX, network_index)
    network.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
    tf_keras.backend.clear_session()  # the local runner trains every network in one process
