"""Emotion inference: images in, FER2013 emotion probabilities out.

This package knows images and models only. It never imports Django's ORM,
requests or sockets, so a plain Python script can use it.
"""
