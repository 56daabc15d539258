from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATUS_UNSPECIFIED: _ClassVar[RunStatus]
    RUN_STATUS_OK: _ClassVar[RunStatus]
    RUN_STATUS_RUNTIME_ERROR: _ClassVar[RunStatus]
    RUN_STATUS_TIMEOUT: _ClassVar[RunStatus]
    RUN_STATUS_MEMORY_LIMIT: _ClassVar[RunStatus]
    RUN_STATUS_OUTPUT_LIMIT: _ClassVar[RunStatus]
    RUN_STATUS_COMPILE_ERROR: _ClassVar[RunStatus]
    RUN_STATUS_INFRA_ERROR: _ClassVar[RunStatus]
RUN_STATUS_UNSPECIFIED: RunStatus
RUN_STATUS_OK: RunStatus
RUN_STATUS_RUNTIME_ERROR: RunStatus
RUN_STATUS_TIMEOUT: RunStatus
RUN_STATUS_MEMORY_LIMIT: RunStatus
RUN_STATUS_OUTPUT_LIMIT: RunStatus
RUN_STATUS_COMPILE_ERROR: RunStatus
RUN_STATUS_INFRA_ERROR: RunStatus

class Limits(_message.Message):
    __slots__ = ("cpu_s", "wall_s", "memory_bytes", "nproc", "fsize_bytes", "output_bytes", "nofile")
    CPU_S_FIELD_NUMBER: _ClassVar[int]
    WALL_S_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NPROC_FIELD_NUMBER: _ClassVar[int]
    FSIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    NOFILE_FIELD_NUMBER: _ClassVar[int]
    cpu_s: float
    wall_s: float
    memory_bytes: int
    nproc: int
    fsize_bytes: int
    output_bytes: int
    nofile: int
    def __init__(self, cpu_s: _Optional[float] = ..., wall_s: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., nproc: _Optional[int] = ..., fsize_bytes: _Optional[int] = ..., output_bytes: _Optional[int] = ..., nofile: _Optional[int] = ...) -> None: ...

class ExecuteRequest(_message.Message):
    __slots__ = ("language", "files", "stdin", "limits", "stop_on_first_failure")
    class FilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    STOP_ON_FIRST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    language: str
    files: _containers.ScalarMap[str, bytes]
    stdin: _containers.RepeatedScalarFieldContainer[bytes]
    limits: Limits
    stop_on_first_failure: bool
    def __init__(self, language: _Optional[str] = ..., files: _Optional[_Mapping[str, bytes]] = ..., stdin: _Optional[_Iterable[bytes]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., stop_on_first_failure: _Optional[bool] = ...) -> None: ...

class RunResult(_message.Message):
    __slots__ = ("status", "exit_code", "signal", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "cpu_s", "wall_s", "peak_memory_bytes", "detail")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    STDERR_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    CPU_S_FIELD_NUMBER: _ClassVar[int]
    WALL_S_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    status: RunStatus
    exit_code: int
    signal: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_s: float
    wall_s: float
    peak_memory_bytes: int
    detail: str
    def __init__(self, status: _Optional[_Union[RunStatus, str]] = ..., exit_code: _Optional[int] = ..., signal: _Optional[int] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., stdout_truncated: _Optional[bool] = ..., stderr_truncated: _Optional[bool] = ..., cpu_s: _Optional[float] = ..., wall_s: _Optional[float] = ..., peak_memory_bytes: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RunResult]
    def __init__(self, results: _Optional[_Iterable[_Union[RunResult, _Mapping]]] = ...) -> None: ...
