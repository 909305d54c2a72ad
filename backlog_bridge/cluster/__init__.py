"""Cluster step: normalised vectors to themes, plus labels, keywords and quotes for each theme."""

from backlog_bridge.cluster.clusterer import UNTHEMED, Clusterer, ClusterResult, assign_to_centroids
from backlog_bridge.cluster.sklearn import ClusterParams, SklearnClusterer

__all__ = [
    "UNTHEMED",
    "ClusterParams",
    "ClusterResult",
    "Clusterer",
    "SklearnClusterer",
    "assign_to_centroids",
]
