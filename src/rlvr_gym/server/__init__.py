"""The gRPC reward service (issue 5): conversions between the wire and the library first.

Protobuf types never leak past this package: servicers convert requests to the library's
dataclasses at the edge (:mod:`rlvr_gym.server.convert`) and results back.
"""
