from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORE_STATUS_UNSPECIFIED: _ClassVar[ScoreStatus]
    SCORE_STATUS_CORRECT: _ClassVar[ScoreStatus]
    SCORE_STATUS_INCORRECT: _ClassVar[ScoreStatus]
    SCORE_STATUS_NO_ANSWER: _ClassVar[ScoreStatus]
    SCORE_STATUS_HEDGED: _ClassVar[ScoreStatus]
    SCORE_STATUS_TIMEOUT: _ClassVar[ScoreStatus]
    SCORE_STATUS_INFRA_ERROR: _ClassVar[ScoreStatus]
SCORE_STATUS_UNSPECIFIED: ScoreStatus
SCORE_STATUS_CORRECT: ScoreStatus
SCORE_STATUS_INCORRECT: ScoreStatus
SCORE_STATUS_NO_ANSWER: ScoreStatus
SCORE_STATUS_HEDGED: ScoreStatus
SCORE_STATUS_TIMEOUT: ScoreStatus
SCORE_STATUS_INFRA_ERROR: ScoreStatus

class MathTask(_message.Message):
    __slots__ = ("answer",)
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    answer: str
    def __init__(self, answer: _Optional[str] = ...) -> None: ...

class IOTest(_message.Message):
    __slots__ = ("stdin", "expected")
    STDIN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    stdin: str
    expected: str
    def __init__(self, stdin: _Optional[str] = ..., expected: _Optional[str] = ...) -> None: ...

class CallCase(_message.Message):
    __slots__ = ("args_json", "expected_json", "atol", "args_tagged", "expected_tagged")
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_JSON_FIELD_NUMBER: _ClassVar[int]
    ATOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_TAGGED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_TAGGED_FIELD_NUMBER: _ClassVar[int]
    args_json: str
    expected_json: str
    atol: float
    args_tagged: str
    expected_tagged: str
    def __init__(self, args_json: _Optional[str] = ..., expected_json: _Optional[str] = ..., atol: _Optional[float] = ..., args_tagged: _Optional[str] = ..., expected_tagged: _Optional[str] = ...) -> None: ...

class CodeTask(_message.Message):
    __slots__ = ("task_id", "prompt", "language", "io_tests", "comparator", "abs_tol", "rel_tol", "checker", "entry_point", "setup_code", "test_code", "call_cases")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    IO_TESTS_FIELD_NUMBER: _ClassVar[int]
    COMPARATOR_FIELD_NUMBER: _ClassVar[int]
    ABS_TOL_FIELD_NUMBER: _ClassVar[int]
    REL_TOL_FIELD_NUMBER: _ClassVar[int]
    CHECKER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    SETUP_CODE_FIELD_NUMBER: _ClassVar[int]
    TEST_CODE_FIELD_NUMBER: _ClassVar[int]
    CALL_CASES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    prompt: str
    language: str
    io_tests: _containers.RepeatedCompositeFieldContainer[IOTest]
    comparator: str
    abs_tol: float
    rel_tol: float
    checker: str
    entry_point: str
    setup_code: str
    test_code: str
    call_cases: _containers.RepeatedCompositeFieldContainer[CallCase]
    def __init__(self, task_id: _Optional[str] = ..., prompt: _Optional[str] = ..., language: _Optional[str] = ..., io_tests: _Optional[_Iterable[_Union[IOTest, _Mapping]]] = ..., comparator: _Optional[str] = ..., abs_tol: _Optional[float] = ..., rel_tol: _Optional[float] = ..., checker: _Optional[str] = ..., entry_point: _Optional[str] = ..., setup_code: _Optional[str] = ..., test_code: _Optional[str] = ..., call_cases: _Optional[_Iterable[_Union[CallCase, _Mapping]]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_id", "math", "code")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    MATH_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    math: MathTask
    code: CodeTask
    def __init__(self, task_id: _Optional[str] = ..., math: _Optional[_Union[MathTask, _Mapping]] = ..., code: _Optional[_Union[CodeTask, _Mapping]] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("queue_ms", "grading_ms")
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    GRADING_MS_FIELD_NUMBER: _ClassVar[int]
    queue_ms: float
    grading_ms: float
    def __init__(self, queue_ms: _Optional[float] = ..., grading_ms: _Optional[float] = ...) -> None: ...

class Score(_message.Message):
    __slots__ = ("reward", "status", "components", "extracted", "detail", "timing")
    class ComponentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    REWARD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    reward: float
    status: ScoreStatus
    components: _containers.ScalarMap[str, float]
    extracted: str
    detail: str
    timing: Timing
    def __init__(self, reward: _Optional[float] = ..., status: _Optional[_Union[ScoreStatus, str]] = ..., components: _Optional[_Mapping[str, float]] = ..., extracted: _Optional[str] = ..., detail: _Optional[str] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ...) -> None: ...
