from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class OpenRequest(_message.Message):
    __slots__ = ("env_id", "env_kwargs_json")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    ENV_KWARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    env_kwargs_json: str
    def __init__(self, env_id: _Optional[str] = ..., env_kwargs_json: _Optional[str] = ...) -> None: ...

class OpenResponse(_message.Message):
    __slots__ = ("session_id", "max_observation_chars", "max_action_chars")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_OBSERVATION_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_ACTION_CHARS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    max_observation_chars: int
    max_action_chars: int
    def __init__(self, session_id: _Optional[str] = ..., max_observation_chars: _Optional[int] = ..., max_action_chars: _Optional[int] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("env_id", "session_id", "seed", "task_id", "index", "env_kwargs_json")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENV_KWARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    session_id: str
    seed: int
    task_id: str
    index: int
    env_kwargs_json: str
    def __init__(self, env_id: _Optional[str] = ..., session_id: _Optional[str] = ..., seed: _Optional[int] = ..., task_id: _Optional[str] = ..., index: _Optional[int] = ..., env_kwargs_json: _Optional[str] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("session_id", "observation", "info_json", "render")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    RENDER_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    observation: str
    info_json: str
    render: str
    def __init__(self, session_id: _Optional[str] = ..., observation: _Optional[str] = ..., info_json: _Optional[str] = ..., render: _Optional[str] = ...) -> None: ...

class StepRequest(_message.Message):
    __slots__ = ("session_id", "action")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    action: str
    def __init__(self, session_id: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class StepResponse(_message.Message):
    __slots__ = ("observation", "reward", "terminated", "truncated", "info_json", "render")
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    RENDER_FIELD_NUMBER: _ClassVar[int]
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info_json: str
    render: str
    def __init__(self, observation: _Optional[str] = ..., reward: _Optional[float] = ..., terminated: _Optional[bool] = ..., truncated: _Optional[bool] = ..., info_json: _Optional[str] = ..., render: _Optional[str] = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
