from rlvr_gym.proto.v1 import score_pb2 as _score_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreRequest(_message.Message):
    __slots__ = ("env_id", "task", "response")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    task: _score_pb2.Task
    response: str
    def __init__(self, env_id: _Optional[str] = ..., task: _Optional[_Union[_score_pb2.Task, _Mapping]] = ..., response: _Optional[str] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("score",)
    SCORE_FIELD_NUMBER: _ClassVar[int]
    score: _score_pb2.Score
    def __init__(self, score: _Optional[_Union[_score_pb2.Score, _Mapping]] = ...) -> None: ...

class ScoreBatchRequest(_message.Message):
    __slots__ = ("env_id", "task", "responses", "tasks", "task_index", "columnar")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    COLUMNAR_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    task: _score_pb2.Task
    responses: _containers.RepeatedScalarFieldContainer[str]
    tasks: _containers.RepeatedCompositeFieldContainer[_score_pb2.Task]
    task_index: _containers.RepeatedScalarFieldContainer[int]
    columnar: bool
    def __init__(self, env_id: _Optional[str] = ..., task: _Optional[_Union[_score_pb2.Task, _Mapping]] = ..., responses: _Optional[_Iterable[str]] = ..., tasks: _Optional[_Iterable[_Union[_score_pb2.Task, _Mapping]]] = ..., task_index: _Optional[_Iterable[int]] = ..., columnar: _Optional[bool] = ...) -> None: ...

class ScoreBatchResponse(_message.Message):
    __slots__ = ("scores", "columns")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[_score_pb2.Score]
    columns: ScoreColumns
    def __init__(self, scores: _Optional[_Iterable[_Union[_score_pb2.Score, _Mapping]]] = ..., columns: _Optional[_Union[ScoreColumns, _Mapping]] = ...) -> None: ...

class ScoreColumns(_message.Message):
    __slots__ = ("reward", "status", "extracted", "detail", "component_set", "component_names", "component_count", "component_name", "component_value", "timing")
    REWARD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_SET_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAMES_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    reward: _containers.RepeatedScalarFieldContainer[float]
    status: _containers.RepeatedScalarFieldContainer[_score_pb2.ScoreStatus]
    extracted: _containers.RepeatedScalarFieldContainer[str]
    detail: _containers.RepeatedScalarFieldContainer[str]
    component_set: _containers.RepeatedScalarFieldContainer[int]
    component_names: _containers.RepeatedScalarFieldContainer[str]
    component_count: _containers.RepeatedScalarFieldContainer[int]
    component_name: _containers.RepeatedScalarFieldContainer[int]
    component_value: _containers.RepeatedScalarFieldContainer[float]
    timing: _score_pb2.Timing
    def __init__(self, reward: _Optional[_Iterable[float]] = ..., status: _Optional[_Iterable[_Union[_score_pb2.ScoreStatus, str]]] = ..., extracted: _Optional[_Iterable[str]] = ..., detail: _Optional[_Iterable[str]] = ..., component_set: _Optional[_Iterable[int]] = ..., component_names: _Optional[_Iterable[str]] = ..., component_count: _Optional[_Iterable[int]] = ..., component_name: _Optional[_Iterable[int]] = ..., component_value: _Optional[_Iterable[float]] = ..., timing: _Optional[_Union[_score_pb2.Timing, _Mapping]] = ...) -> None: ...

class ScoreStreamRequest(_message.Message):
    __slots__ = ("request_id", "env_id", "task", "response")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    env_id: str
    task: _score_pb2.Task
    response: str
    def __init__(self, request_id: _Optional[str] = ..., env_id: _Optional[str] = ..., task: _Optional[_Union[_score_pb2.Task, _Mapping]] = ..., response: _Optional[str] = ...) -> None: ...

class ScoreStreamResponse(_message.Message):
    __slots__ = ("request_id", "score")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    score: _score_pb2.Score
    def __init__(self, request_id: _Optional[str] = ..., score: _Optional[_Union[_score_pb2.Score, _Mapping]] = ...) -> None: ...

class ListEnvsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EnvInfo(_message.Message):
    __slots__ = ("env_id", "description", "scorable", "multi_turn")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCORABLE_FIELD_NUMBER: _ClassVar[int]
    MULTI_TURN_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    description: str
    scorable: bool
    multi_turn: bool
    def __init__(self, env_id: _Optional[str] = ..., description: _Optional[str] = ..., scorable: _Optional[bool] = ..., multi_turn: _Optional[bool] = ...) -> None: ...

class ListEnvsResponse(_message.Message):
    __slots__ = ("envs",)
    ENVS_FIELD_NUMBER: _ClassVar[int]
    envs: _containers.RepeatedCompositeFieldContainer[EnvInfo]
    def __init__(self, envs: _Optional[_Iterable[_Union[EnvInfo, _Mapping]]] = ...) -> None: ...

class DescribeEnvRequest(_message.Message):
    __slots__ = ("env_id",)
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    def __init__(self, env_id: _Optional[str] = ...) -> None: ...

class DescribeEnvResponse(_message.Message):
    __slots__ = ("env", "num_tasks")
    ENV_FIELD_NUMBER: _ClassVar[int]
    NUM_TASKS_FIELD_NUMBER: _ClassVar[int]
    env: EnvInfo
    num_tasks: int
    def __init__(self, env: _Optional[_Union[EnvInfo, _Mapping]] = ..., num_tasks: _Optional[int] = ...) -> None: ...
