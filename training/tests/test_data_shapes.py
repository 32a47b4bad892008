import numpy as np

from unclip.data_shapes import HELD_OUT, caption, detect, make_split, score


def test_training_scenes_never_show_a_held_out_colour_shape_pair():
    _, caps, attrs = make_split(300, 32, seed=5, held_out="exclude")
    assert not any((a["colour"], a["shape"]) in HELD_OUT for a in attrs)
    _, _, unseen = make_split(50, 32, seed=6, held_out="only")
    assert all((a["colour"], a["shape"]) in HELD_OUT for a in unseen)


def test_captions_follow_the_templates():
    a = {"colour": "red", "shape": "circle", "size": "small", "background": "white", "count": 1, "position": "top left"}
    assert caption(a) == "a small red circle in the top left on a white background"
    b = dict(a, count=2, position="none", shape="square", size="large")
    assert caption(b) == "two large red squares on a white background"


def test_the_detector_reads_rendered_scenes_at_64_px():
    images, _, attrs = make_split(120, 64, seed=7, held_out="any")
    acc = {}
    for im, a in zip(images, attrs):
        for k, v in score(a, detect(im)).items():
            acc.setdefault(k, []).append(v)
    for k, v in acc.items():
        assert np.mean(v) >= 0.95, (k, np.mean(v))


def test_the_detector_reports_nothing_on_an_empty_canvas():
    found = detect(np.full((32, 32, 3), 255, np.uint8))
    assert found["count"] == 0 and found["colour"] is None and found["background"] == "white"
