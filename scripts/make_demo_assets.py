#!/usr/bin/env python
"""Generate the demo content under ``assets/demo/`` (run once; outputs are committed).

What it makes:

* ``images/*.jpg`` - sample photos from scikit-image's data module (public domain /
  CC0 / no known copyright restrictions), JPEG quality 85.
* ``audio/*.wav`` - short customer-support phrases spoken by espeak-ng, resampled
  to 16 kHz mono 16-bit PCM by sox.
* four Label Studio projects (``config.xml`` + ``tasks.json``) with annotations by
  several demo annotators who sometimes disagree, a few unlabeled tasks, and
  some model predictions,
* ``projects.json`` - the list of projects with titles, descriptions, instructions.

The script is deterministic: fixed seeds, a fixed reference date and sorted
JSON keys, so re-running it reproduces the committed files byte for byte
(given the same espeak-ng/sox/scikit-image versions).

One-off generator dependencies (NOT in requirements.txt): scikit-image, scipy
(pulled in by scikit-image), Pillow, numpy, and the Debian packages espeak-ng
and sox.

Usage::

    python scripts/make_demo_assets.py
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
IMAGES = DEMO / "images"
AUDIO = DEMO / "audio"

# All timestamps are offsets back from this fixed moment, so output is stable.
REFERENCE_NOW = datetime(2026, 11, 27, 17, 0, 0, tzinfo=timezone.utc)

ANNOTATORS = [f"annotator{i}@demo.quorum.local" for i in range(1, 5)]
REVIEWER = "reviewer@demo.quorum.local"

LOCAL_FILES = "/data/local-files/?d=demo/"


# --------------------------------------------------------------------------- helpers


class Ids:
    """Deterministic Label Studio style region ids (``[A-Za-z0-9_-]``, 10 chars)."""

    ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def __call__(self) -> str:
        while True:
            rid = "".join(self.rng.choice(self.ALPHABET) for _ in range(10))
            if rid not in self.seen:
                self.seen.add(rid)
                return rid


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Clock:
    """Hands out plausible ``created_at`` timestamps spread over the last ~6 days."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def created_at(self, annotator_index: int, task_index: int) -> str:
        # each annotator works in a different daily session; tasks go forward in time
        day = 6 - (task_index * 5) // 40 - (annotator_index % 2)
        day = max(0, day)
        start = REFERENCE_NOW - timedelta(days=day)
        start = start.replace(hour=9 + 2 * annotator_index % 8, minute=0, second=0)
        offset = timedelta(minutes=task_index * 3 + self.rng.randint(0, 150), seconds=self.rng.randint(0, 59))
        dt = start + offset
        if dt > REFERENCE_NOW:
            dt = REFERENCE_NOW - timedelta(minutes=self.rng.randint(5, 600))
        return iso(dt)

    def lead_time(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 3)


def annotation(result, email, clock: Clock, who_index: int, task_index: int, lead=(5.0, 40.0), **extra):
    ann = {
        "result": result,
        "completed_by": {"email": email},
        "lead_time": clock.lead_time(*lead),
        "created_at": clock.created_at(who_index, task_index),
        "was_cancelled": False,
        "ground_truth": False,
    }
    ann["updated_at"] = ann["created_at"]
    ann.update(extra)
    return ann


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def pick_annotators(task_index: int, n: int = 3) -> list[int]:
    """Rotate 3 of the 4 annotators over the tasks (overlap 3)."""
    skip = task_index % 4
    order = [i for i in range(4) if i != skip]
    return order[:n]


# --------------------------------------------------------------------------- images

IMAGE_SOURCES = {
    # name: (skimage.data function, licence note)
    "coins": ("coins", "Greek coins from Pompeii, Brooklyn Museum Collection - no known copyright restrictions"),
    "astronaut": ("astronaut", "Eileen Collins, NASA Great Images database - public domain"),
    "coffee": ("coffee", "Coffee cup, Pikolo Espresso Bar, photo by Rachel Michetti - CC0"),
    "chelsea": ("chelsea", "Chelsea the cat, photo by Stefan van der Walt - CC0"),
    "rocket": ("rocket", "DSCOVR on Falcon 9, SpaceX - released into the public domain"),
    "camera": ("camera", "Cameraman, photo by Lav Varshney - CC0"),
}


def make_images() -> dict[str, tuple[int, int]]:
    from skimage import data as skdata

    IMAGES.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, (func, _licence) in IMAGE_SOURCES.items():
        arr = getattr(skdata, func)()
        img = Image.fromarray(arr)
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        longest = max(img.size)
        if longest > 640:
            scale = 640 / longest
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        img.save(IMAGES / f"{name}.jpg", "JPEG", quality=85, optimize=True)
        sizes[name] = img.size
    return sizes


def coin_boxes() -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1; x1/y1 exclusive, pixels) of the coins, found by
    the classic scikit-image watershed segmentation of the coins picture."""
    from scipy import ndimage as ndi
    from skimage import data as skdata, filters, measure, segmentation

    coins = skdata.coins()
    elevation = filters.sobel(coins)
    markers = np.zeros_like(coins)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    seg = segmentation.watershed(elevation, markers)
    filled = ndi.binary_fill_holes(seg - 1)
    labels = measure.label(filled)
    boxes = []
    for region in measure.regionprops(labels):
        if region.area < 200:
            continue
        r0, c0, r1, c1 = region.bbox
        boxes.append((int(c0), int(r0), int(c1), int(r1)))
    # reading order: rows of coins top to bottom, then left to right
    boxes.sort(key=lambda b: (round((b[1] + b[3]) / 2 / 70), b[0]))
    return boxes


# --------------------------------------------------------------------------- audio

SPEECH = [
    # file, voice, words per minute, sentence
    ("01", "en-us", 160, "Hi, I would like to check the status of my order."),
    ("02", "en-gb+f3", 150, "My package arrived damaged yesterday."),
    ("03", "en-us+m3", 150, "Can I get a refund for this item?"),
    ("04", "en-gb-scotland", 155, "I was charged twice on my credit card."),
    ("05", "en-us+f2", 165, "Please cancel my subscription before the next billing date."),
    ("06", "en-gb", 160, "The app keeps crashing when I try to log in."),
]


def make_audio() -> dict[str, float]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required: apt-get install espeak-ng sox")
    AUDIO.mkdir(parents=True, exist_ok=True)
    durations = {}
    with tempfile.TemporaryDirectory() as tmp:
        for stem, voice, wpm, sentence in SPEECH:
            raw = Path(tmp) / f"{stem}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), sentence], check=True)
            out = AUDIO / f"{stem}.wav"
            # -D: no dither, so the output is reproducible; 16 kHz mono 16-bit PCM
            subprocess.run(
                ["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                check=True,
            )
            with wave.open(str(out)) as w:
                durations[stem] = w.getnframes() / w.getframerate()
            if not 2.0 <= durations[stem] <= 4.0:
                sys.exit(f"{out} is {durations[stem]:.2f}s long; adjust the speaking rate")
    return durations


# --------------------------------------------------------------------------- text classification

# (review, product, majority label, plausible alternative label or None)
REVIEWS = [
    ("Absolutely love this blender. Crushes ice in seconds and it's quieter than my old one.", "Blender", "Positive", None),
    ("Stopped charging after two weeks. Support never answered my emails. Avoid.", "Wireless earbuds", "Negative", None),
    ("It's fine. Does what it says, nothing more, nothing less.", "USB-C cable", "Neutral", None),
    ("The fabric is softer than I expected and the color matches the photos exactly.", "Throw blanket", "Positive", None),
    ("Arrived with a cracked screen protector and a missing charger. Very disappointed.", "Tablet", "Negative", None),
    ("Great sound for the price, but the Bluetooth connection drops every now and then.", "Portable speaker", "Positive", "Neutral"),
    ("Assembly took three hours and two of the screws were stripped. The desk itself is sturdy though.", "Standing desk", "Negative", "Neutral"),
    ("Exactly as described. Shipping was on time.", "Phone case", "Positive", None),
    ("Battery lasts all day even with GPS on. Best running watch I've owned.", "Running watch", "Positive", None),
    ("The smell of plastic was so strong I had to leave it outside for a week.", "Yoga mat", "Negative", None),
    ("I bought this as a gift, so I can't say much about how it works yet.", "Coffee grinder", "Neutral", None),
    ("Works well, but the instructions are only in German and the app is clunky.", "Smart plug", "Neutral", "Negative"),
    ("My kids use it every day and it still looks new after six months. Worth every penny.", "Kids' backpack", "Positive", None),
    ("Pretty disappointed. The zipper broke the first time I used it.", "Travel bag", "Negative", None),
    ("Not bad for a budget model. The picture is a bit dim in bright rooms.", "Projector", "Neutral", "Positive"),
    ("Customer service replaced it within a day when mine arrived dented. Impressed!", "Kettle", "Positive", None),
    ("Size chart is way off. I normally wear a medium and the large was still tight.", "Running jacket", "Negative", None),
    ("Medium roast, slightly nutty, nothing special. I'll probably try another brand next time.", "Coffee beans", "Neutral", "Negative"),
    ("The lamp is beautiful and the warm light setting is perfect for reading.", "Desk lamp", "Positive", None),
    ("Third one I've bought. Reliable, cheap, and the tips last forever.", "Soldering iron", "Positive", None),
    ("It arrived two days late and the box was soaked, but the product inside was fine.", "Board game", "Neutral", "Negative"),
    ("Terrible. It leaks from the bottom every single time.", "Water bottle", "Negative", None),
    ("Comfortable enough for long flights, though it takes up a lot of room in my bag.", "Neck pillow", "Positive", "Neutral"),
    ("The keyboard feels cheap and the space bar rattles. Returning it.", "Mechanical keyboard", "Negative", None),
    ("Setup was painless and the picture quality is stunning.", "Security camera", "Positive", None),
    ("Average. The pan heats unevenly, but the non-stick coating works.", "Frying pan", "Neutral", None),
    ("I wanted to like it, but the seat cushion flattened after a month.", "Office chair", "Negative", "Neutral"),
    ("Five stars. My plants have never looked healthier.", "Grow light", "Positive", None),
    ("The colour is more grey than blue. Otherwise okay.", "Bath towels", "Neutral", None),
    ("Stopped working after the first wash. Waste of money.", "Fitness tracker", "Negative", None),
    ("Lightweight, folds flat, and the wheels glide on any surface. Love it.", "Stroller", "Positive", None),
    ("It does the job. The cord could be longer.", "Hair dryer", "Neutral", None),
    ("The book was in good condition, just a small crease on the cover.", "Used paperback", "Neutral", "Positive"),
    ("The noise cancelling is incredible on the train. I finally get some quiet.", "Headphones", "Positive", None),
    ("Came with the wrong adapter for EU outlets and the seller refused a refund.", "Laptop charger", "Negative", None),
    ("Nice design. Haven't had it long enough to judge durability.", "Wallet", "Neutral", None),
    # the newcomer's tasks: left unlabeled
    ("Cheap plastic, but honestly for five dollars I didn't expect much.", "Kitchen timer", "Neutral", "Negative"),
    ("The scent is lovely and lasts for hours. Will buy again.", "Scented candle", "Positive", None),
    ("Doesn't fit the 2019 model even though the listing says it does.", "Car phone mount", "Negative", None),
    ("Tastes like cardboard. The chocolate flavour is barely there.", "Protein bars", "Negative", None),
]
N_UNLABELED_REVIEWS = 4


def build_text_classification() -> tuple[str, list]:
    config = """<View>
  <Header value="Read the product review and choose its overall sentiment"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single-radio" showInline="true" required="true">
    <Choice value="Positive" hotkey="1"/>
    <Choice value="Negative" hotkey="2"/>
    <Choice value="Neutral" hotkey="3"/>
  </Choices>
</View>
"""
    ids = Ids(101)
    clock = Clock(102)
    rng = random.Random(103)
    tasks = []
    labeled = len(REVIEWS) - N_UNLABELED_REVIEWS
    for t, (text, product, label, alt) in enumerate(REVIEWS):
        task = {"data": {"text": text, "product": product}, "annotations": [], "predictions": []}

        def choice(value):
            return [{"id": ids(), "from_name": "sentiment", "to_name": "text", "type": "choices",
                     "value": {"choices": [value]}, "origin": "manual"}]

        if t < labeled:
            who = pick_annotators(t)
            if t in (8, 19, 30):  # a few tasks only got two annotations so far
                who = who[:2]
            # mixed reviews with an alternative reading: one annotator takes the alternative
            dissent = None
            if alt is not None:
                dissent = who[(t + 1) % len(who)]
            for a in who:
                value = alt if a == dissent else label
                task["annotations"].append(
                    annotation(choice(value), ANNOTATORS[a], clock, a, t, lead=(4.0, 25.0))
                )
            # the reviewer settles one disputed review
            if t == 6:
                task["annotations"].append(
                    annotation(choice(label), REVIEWER, clock, 3, t + 4, lead=(8.0, 15.0), ground_truth=True)
                )
        # predictions from a (pretend) sentiment model on every other task
        if t % 2 == 0:
            pred = label
            score = rng.uniform(0.82, 0.99)
            if alt is not None:
                pred = alt if t % 4 == 0 else label
                score = rng.uniform(0.48, 0.7)
            task["predictions"].append({
                "model_version": "sentiment-distilbert-v2",
                "score": round(score, 3),
                "result": [{"id": ids(), "from_name": "sentiment", "to_name": "text", "type": "choices",
                            "value": {"choices": [pred]}, "score": round(score, 3)}],
            })
        tasks.append(task)
    return config, tasks


# --------------------------------------------------------------------------- named entities

# Fictional people and companies, real places and institutions in neutral contexts.
# "variants" describe how individual annotators deviate from the reference spans:
#   ("miss", annotator, entity_index)
#   ("relabel", annotator, entity_index, new_label)
#   ("span", annotator, entity_index, new_surface_text)   - boundary off by a word
NER = [
    ("Maria Okafor, the chief executive of Brightwell Energy, said on Tuesday that the company would open a new plant in Rotterdam.",
     [("Maria Okafor", "PER"), ("Brightwell Energy", "ORG"), ("Rotterdam", "LOC")],
     [("span", 2, 1, "Brightwell")]),
    ("The European Central Bank left interest rates unchanged at its meeting in Frankfurt.",
     [("European Central Bank", "ORG"), ("Frankfurt", "LOC")], []),
    ("Heavy rain forced organisers to postpone the Copenhagen Marathon by a week.",
     [("Copenhagen Marathon", "MISC")],
     [("relabel", 1, 0, "LOC")]),
    ("Tomas Lindqvist scored twice as Malmo beat Ajax 3-1 in the Europa League.",
     [("Tomas Lindqvist", "PER"), ("Malmo", "ORG"), ("Ajax", "ORG"), ("Europa League", "MISC")],
     [("relabel", 1, 1, "LOC")]),
    ("Officials from the World Health Organization met health ministers in Nairobi to discuss vaccine supplies.",
     [("World Health Organization", "ORG"), ("Nairobi", "LOC")], []),
    ("Shares of Kestrel Robotics rose 8 percent after the firm announced a partnership with Nordvik Logistics.",
     [("Kestrel Robotics", "ORG"), ("Nordvik Logistics", "ORG")],
     [("miss", 3, 1)]),
    ("The Japanese government plans to build a high-speed rail link between Osaka and Fukuoka.",
     [("Japanese", "MISC"), ("Osaka", "LOC"), ("Fukuoka", "LOC")],
     [("miss", 0, 0)]),
    ("Dr. Aisha Rahman of the University of Toronto led the study, published in Nature Medicine.",
     [("Aisha Rahman", "PER"), ("University of Toronto", "ORG"), ("Nature Medicine", "MISC")],
     [("span", 1, 0, "Dr. Aisha Rahman"), ("relabel", 2, 2, "ORG")]),
    ("Firefighters in New South Wales are battling more than forty bushfires.",
     [("New South Wales", "LOC")], []),
    ("The Louvre will lend two paintings to the National Gallery in London next spring.",
     [("Louvre", "ORG"), ("National Gallery", "ORG"), ("London", "LOC")],
     [("relabel", 3, 0, "LOC")]),
    ("Mayor Daniel Ferreira promised to extend the tram network to the airport by 2028.",
     [("Daniel Ferreira", "PER")],
     [("span", 0, 0, "Mayor Daniel Ferreira")]),
    ("Brazilian midfielder Lucas Moreira signed a four-year contract with Celtic.",
     [("Brazilian", "MISC"), ("Lucas Moreira", "PER"), ("Celtic", "ORG")], []),
    ("A magnitude 5.8 earthquake shook parts of central Chile early on Sunday.",
     [("Chile", "LOC")],
     [("span", 2, 0, "central Chile")]),
    ("Greenleaf Foods recalled thousands of jars of peanut butter sold in Ohio and Michigan.",
     [("Greenleaf Foods", "ORG"), ("Ohio", "LOC"), ("Michigan", "LOC")],
     [("miss", 1, 2)]),
    ("The United Nations Security Council will hold an emergency session in New York on Friday.",
     [("United Nations Security Council", "ORG"), ("New York", "LOC")], []),
    ("Novelist Ingrid Halvorsen won the Nordic Council Literature Prize for her debut.",
     [("Ingrid Halvorsen", "PER"), ("Nordic Council Literature Prize", "MISC")],
     [("relabel", 2, 1, "ORG")]),
    ("Engineers at Orbital Dynamics tested the new engine at a site near Cape Canaveral.",
     [("Orbital Dynamics", "ORG"), ("Cape Canaveral", "LOC")], []),
    ("Police in Manchester arrested two men after a break-in at a jewellery shop.",
     [("Manchester", "LOC")], []),
    ("The Indian Premier League final drew a record television audience.",
     [("Indian Premier League", "MISC")],
     [("relabel", 2, 0, "ORG")]),
    ("Sofia Marchetti, a spokeswoman for Alitalia Cargo, declined to comment on the strike.",
     [("Sofia Marchetti", "PER"), ("Alitalia Cargo", "ORG")], []),
    ("Farmers along the Mekong River say the dry season has started earlier than usual.",
     [("Mekong River", "LOC")],
     [("span", 3, 0, "Mekong")]),
    ("Pinewood Bank will close forty branches across Scotland and Wales next year.",
     [("Pinewood Bank", "ORG"), ("Scotland", "LOC"), ("Wales", "LOC")], []),
    # the newcomer's tasks: left unlabeled
    ("Chancellor Petra Vogel will visit Warsaw and Vilnius next week to discuss energy security.",
     [("Petra Vogel", "PER"), ("Warsaw", "LOC"), ("Vilnius", "LOC")], []),
    ("The Sundance Film Festival announced its lineup, including a documentary by Kenji Watanabe.",
     [("Sundance Film Festival", "MISC"), ("Kenji Watanabe", "PER")], []),
    ("Researchers at the Max Planck Institute found microplastics in snow from the Alps.",
     [("Max Planck Institute", "ORG"), ("Alps", "LOC")], []),
]
N_UNLABELED_NER = 3


def find_span(text: str, surface: str) -> tuple[int, int]:
    start = text.find(surface)
    if start < 0:
        raise ValueError(f"{surface!r} not in {text!r}")
    if text.find(surface, start + 1) >= 0:
        raise ValueError(f"{surface!r} is ambiguous in {text!r}")
    return start, start + len(surface)


def span_result(ids: Ids, text: str, surface: str, label: str, score: float | None = None) -> dict:
    start, end = find_span(text, surface)
    assert text[start:end] == surface
    item = {"id": ids(), "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": surface, "labels": [label]}}
    if score is not None:
        item["score"] = score
    else:
        item["origin"] = "manual"
    return item


def build_named_entities() -> tuple[str, list]:
    config = """<View>
  <Labels name="label" toName="text">
    <Label value="PER" background="#ff6b6b" hint="People, including fictional ones"/>
    <Label value="ORG" background="#4dabf7" hint="Companies, institutions, teams, agencies"/>
    <Label value="LOC" background="#51cf66" hint="Countries, cities, regions, rivers, mountains"/>
    <Label value="MISC" background="#fcc419" hint="Events, nationalities, awards, publications"/>
  </Labels>
  <Text name="text" value="$text" granularity="word"/>
</View>
"""
    ids = Ids(201)
    clock = Clock(202)
    tasks = []
    labeled = len(NER) - N_UNLABELED_NER
    for t, (text, entities, variants) in enumerate(NER):
        task = {"data": {"text": text}, "annotations": [], "predictions": []}
        if t < labeled:
            for a in pick_annotators(t + 1):
                result = []
                for e, (surface, label) in enumerate(entities):
                    missing = any(v[0] == "miss" and v[1] == a and v[2] == e for v in variants)
                    if missing:
                        continue
                    for v in variants:
                        if v[1] == a and v[2] == e and v[0] == "relabel":
                            label = v[3]
                        if v[1] == a and v[2] == e and v[0] == "span":
                            surface = v[3]
                    result.append(span_result(ids, text, surface, label))
                task["annotations"].append(annotation(result, ANNOTATORS[a], clock, a, t, lead=(12.0, 70.0)))
            if t == 7:  # the reviewer checks the task with the most disagreement
                result = [span_result(ids, text, s, kind) for s, kind in entities]
                task["annotations"].append(
                    annotation(result, REVIEWER, clock, 2, t + 6, lead=(20.0, 40.0), ground_truth=True)
                )
        if t % 3 == 0 or t >= labeled:
            # pretend NER model: misses MISC entities and is less sure of them
            result = [span_result(ids, text, s, kind, score=round(0.9 - 0.01 * (i % 5), 2))
                      for i, (s, kind) in enumerate(entities) if kind != "MISC"]
            task["predictions"].append({"model_version": "ner-spacy-sm-3.7", "score": round(0.93 - 0.02 * (t % 7), 2),
                                        "result": result})
        tasks.append(task)
    return config, tasks


# --------------------------------------------------------------------------- image boxes

IMAGE_LABELS = ["Coin", "Person", "Face", "Cat", "Cup", "Spoon", "Rocket", "Tower", "Camera", "Flag"]

# Hand-placed reference boxes in pixels (x0, y0, x1, y1), checked by drawing them on the photos.
HAND_BOXES = {
    "astronaut": [
        ("Person", (20, 14, 372, 512)),
        ("Face", (178, 58, 272, 160)),
        ("Rocket", (352, 0, 472, 282)),
        ("Flag", (0, 0, 96, 430)),
    ],
    "coffee": [
        ("Cup", (172, 16, 424, 306)),
        ("Spoon", (324, 66, 424, 326)),
    ],
    "chelsea": [
        ("Cat", (0, 0, 388, 300)),
        ("Face", (100, 40, 370, 272)),
    ],
    "rocket": [
        ("Rocket", (302, 126, 344, 408)),
        ("Tower", (0, 0, 92, 427)),
        ("Tower", (166, 120, 208, 410)),
        ("Tower", (436, 122, 480, 420)),
        ("Tower", (556, 0, 640, 427)),
    ],
    "camera": [
        ("Person", (0, 64, 332, 512)),
        ("Face", (176, 92, 256, 196)),
        ("Camera", (252, 136, 330, 194)),
    ],
}


def box_result(ids: Ids, box, label: str, size: tuple[int, int], score: float | None = None) -> dict:
    w, h = size
    x0, y0, x1, y1 = box
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(float(w), x1), min(float(h), y1)
    item = {
        "id": ids(),
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": w,
        "original_height": h,
        "image_rotation": 0,
        "value": {
            "x": round(100.0 * x0 / w, 4),
            "y": round(100.0 * y0 / h, 4),
            "width": round(100.0 * (x1 - x0) / w, 4),
            "height": round(100.0 * (y1 - y0) / h, 4),
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }
    if score is not None:
        item["score"] = score
    else:
        item["origin"] = "manual"
    return item


def jitter(rng: random.Random, box, amount: float):
    """Move each edge by up to ``amount`` pixels, the way hand-drawn boxes differ."""
    return tuple(v + rng.uniform(-amount, amount) for v in box)


def build_image_boxes(sizes: dict[str, tuple[int, int]]) -> tuple[str, list]:
    labels = "\n".join(f'    <Label value="{name}"/>' for name in IMAGE_LABELS)
    config = f"""<View>
  <Image name="image" value="$image" zoom="true" zoomControl="true"/>
  <RectangleLabels name="label" toName="image" strokeWidth="2">
{labels}
  </RectangleLabels>
</View>
"""
    ids = Ids(301)
    clock = Clock(302)
    rng = random.Random(303)
    reference = {"coins": [("Coin", b) for b in coin_boxes()], **HAND_BOXES}
    order = ["coins", "astronaut", "coffee", "chelsea", "rocket", "camera"]
    unlabeled = {"camera"}
    tasks = []
    for t, name in enumerate(order):
        size = sizes[name]
        task = {"data": {"image": f"{LOCAL_FILES}images/{name}.jpg", "title": name.capitalize()},
                "annotations": [], "predictions": []}
        if name not in unlabeled:
            for a in pick_annotators(t):
                result = []
                for r, (label, box) in enumerate(reference[name]):
                    # annotator2 overlooks one coin at the picture's edge
                    if name == "coins" and a == 1 and r == len(reference[name]) - 1:
                        continue
                    # annotator1 mistakes the spoon for a cup once
                    if name == "coffee" and a == 0 and label == "Spoon":
                        label = "Cup"
                    # annotator4 skips the tower at the picture's edges
                    if name == "rocket" and a == 3 and label == "Tower" and box[0] in (0, 556):
                        continue
                    result.append(box_result(ids, jitter(rng, box, 2.5 if name == "coins" else 6.0), label, size))
                lead = (150.0, 420.0) if name == "coins" else (25.0, 120.0)
                task["annotations"].append(annotation(result, ANNOTATORS[a], clock, a, t * 6, lead=lead))
            if name == "coffee":
                result = [box_result(ids, box, label, size) for label, box in reference[name]]
                task["annotations"].append(
                    annotation(result, REVIEWER, clock, 1, t * 6 + 3, lead=(30.0, 60.0), ground_truth=True)
                )
        if name in ("coins", "camera", "chelsea"):
            # a pretend detector: looser boxes, one coin missed, per-region scores
            result = [box_result(ids, jitter(rng, box, 8.0), label, size, score=round(rng.uniform(0.55, 0.97), 2))
                      for label, box in reference[name][:-1 if name == "coins" else None]]
            task["predictions"].append({"model_version": "detr-resnet50-demo", "score": 0.78 if name != "camera" else 0.64,
                                        "result": result})
        tasks.append(task)
    return config, tasks


# --------------------------------------------------------------------------- audio transcription

# Each annotator's transcript of each clip: small typos, misses, casing and punctuation differences.
TRANSCRIPTS = {
    "01": ["Hi, I would like to check the status of my order.",
           "Hi I would like to check the status of my order",
           "Hi, I'd like to check the status of my order."],
    "02": ["My package arrived damaged yesterday.",
           "My package arived damaged yesterday.",
           "My packages arrived damaged yesterday."],
    "03": ["Can I get a refund for this item?",
           "Can I get a refund for this item?",
           "Can I get refund for this item"],
    "04": ["I was charged twice on my credit card.",
           "I was charged twice on my credit card.",
           "I was charged to us on my credit card."],
    "05": ["Please cancel my subscription before the next billing date.",
           "Please cancel my subscription before the next billing date",
           "Please cancel the subscription before next billing date."],
}
QUALITY = {"01": ["Clear", "Clear", "Clear"], "02": ["Clear", "Clear", "Clear"], "03": ["Clear", "Clear", "Clear"],
           "04": ["Clear", "Clear", "Noisy"], "05": ["Clear", "Clear", "Clear"]}
ASR = {"01": "hi i would like to check the status of my order",
       "04": "i was charged twice on my credit card",
       "06": "the app keeps crashing when i try to log in"}


def build_audio_transcription(durations: dict[str, float]) -> tuple[str, list]:
    config = """<View>
  <Audio name="audio" value="$audio" zoom="true" hotkey="ctrl+enter"/>
  <Header value="Type exactly what the caller says"/>
  <TextArea name="transcription" toName="audio" rows="3" editable="true" maxSubmissions="1"
            placeholder="Transcript" required="true"/>
  <Choices name="quality" toName="audio" choice="single" showInline="true">
    <Choice value="Clear"/>
    <Choice value="Noisy"/>
    <Choice value="Unintelligible"/>
  </Choices>
</View>
"""
    ids = Ids(401)
    clock = Clock(402)
    tasks = []
    for t, (stem, _voice, _wpm, _sentence) in enumerate(SPEECH):
        task = {"data": {"audio": f"{LOCAL_FILES}audio/{stem}.wav", "call_id": f"CS-{4810 + t}"},
                "annotations": [], "predictions": []}
        length = round(durations[stem], 3)
        if stem in TRANSCRIPTS:
            for k, a in enumerate(pick_annotators(t + 2)):
                rid = ids()
                result = [
                    {"id": rid, "from_name": "transcription", "to_name": "audio", "type": "textarea",
                     "original_length": length, "origin": "manual", "value": {"text": [TRANSCRIPTS[stem][k]]}},
                    {"id": ids(), "from_name": "quality", "to_name": "audio", "type": "choices",
                     "original_length": length, "origin": "manual", "value": {"choices": [QUALITY[stem][k]]}},
                ]
                task["annotations"].append(annotation(result, ANNOTATORS[a], clock, a, t * 7, lead=(15.0, 60.0)))
        if stem in ASR:
            task["predictions"].append({
                "model_version": "whisper-tiny-en", "score": 0.91 if stem != "04" else 0.83,
                "result": [{"id": ids(), "from_name": "transcription", "to_name": "audio", "type": "textarea",
                            "original_length": length, "value": {"text": [ASR[stem]]}}],
            })
        tasks.append(task)
    return config, tasks


# --------------------------------------------------------------------------- projects + README

PROJECTS = [
    {
        "folder": "text-classification",
        "title": "Product review sentiment",
        "description": "Forty short product reviews. Decide whether each is positive, negative or neutral overall.",
        "instructions": (
            "### Product review sentiment\n\n"
            "Choose the **overall** sentiment of the review:\n\n"
            "- **Positive** - the reviewer is happy with the product on balance.\n"
            "- **Negative** - the reviewer is unhappy, wants a refund or warns others.\n"
            "- **Neutral** - factual, undecided, or the good and bad points cancel out.\n\n"
            "Judge the product, not the delivery, unless delivery is all the review talks about. "
            "Hotkeys: `1` Positive, `2` Negative, `3` Neutral."
        ),
        "overlap": 3,
    },
    {
        "folder": "named-entities",
        "title": "News named entities",
        "description": "News-style sentences. Mark people, organisations, locations and other named things.",
        "instructions": (
            "### News named entities\n\n"
            "Select each name and give it one label:\n\n"
            "- **PER** - people. Leave out titles such as *Dr.* or *Mayor*.\n"
            "- **ORG** - companies, institutions, sports teams, agencies.\n"
            "- **LOC** - countries, cities, regions, rivers, mountain ranges.\n"
            "- **MISC** - events, nationalities, awards, publications, competitions.\n\n"
            "Mark the shortest span that is still the full name (*Mekong River*, not *the Mekong River*)."
        ),
        "overlap": 3,
    },
    {
        "folder": "image-boxes",
        "title": "Objects in photos",
        "description": "Draw boxes around coins, people, faces, animals and other objects in sample photos.",
        "instructions": (
            "### Objects in photos\n\n"
            "Draw a **tight** box around every visible object of a listed class and pick its label.\n\n"
            "- In the coins photo, box **every** coin separately.\n"
            "- *Face* is the face only; *Person* is the whole visible body.\n"
            "- Boxes may overlap. Do not box reflections or pictures of objects on other objects."
        ),
        "overlap": 3,
    },
    {
        "folder": "audio-transcription",
        "title": "Support call transcription",
        "description": "Short snippets from customer-support calls. Transcribe them word for word and rate the audio.",
        "instructions": (
            "### Support call transcription\n\n"
            "1. Play the clip (you may replay it as often as you like).\n"
            "2. Type **exactly** what is said, with normal capitalisation and punctuation. "
            "Do not fix the caller's grammar.\n"
            "3. Rate the audio: *Clear*, *Noisy* or *Unintelligible*.\n\n"
            "If a word cannot be understood, write `[inaudible]`."
        ),
        "overlap": 3,
    },
]


def readme(sizes, durations) -> str:
    image_rows = "\n".join(
        f"| `images/{name}.jpg` | `skimage.data.{func}()` | {sizes[name][0]}x{sizes[name][1]} | {licence} |"
        for name, (func, licence) in IMAGE_SOURCES.items()
    )
    audio_rows = "\n".join(
        f"| `audio/{stem}.wav` | `{voice}` | {wpm} | {durations[stem]:.2f} s | {sentence} |"
        for stem, voice, wpm, sentence in SPEECH
    )
    return f"""# Demo assets

This is the content a newcomer sees when Quorum starts for the first time: four small labeling projects
with annotations by several demo annotators. The annotators sometimes disagree, so review and analytics
have something to show. A few tasks are left unlabeled for the newcomer.

**Everything here is generated by `scripts/make_demo_assets.py`.** Do not edit these files by hand; change the
script and run it again (`python scripts/make_demo_assets.py`). The script is deterministic. It needs
scikit-image (`pip install scikit-image`, a one-off generator dependency that is not in requirements.txt) and the
Debian packages `espeak-ng` and `sox`. `tests/test_demo_assets.py` checks the output.

## Layout

```
projects.json                  the four projects: folder, title, description, instructions (markdown), overlap
images/*.jpg                   photos (JPEG quality 85, longest side <= 640 px)
audio/*.wav                    synthetic speech, 16 kHz mono 16-bit PCM, 2-4 s
text-classification/           config.xml + tasks.json   (Choices: Positive / Negative / Neutral)
named-entities/                config.xml + tasks.json   (Labels PER / ORG / LOC / MISC on Text)
image-boxes/                   config.xml + tasks.json   (RectangleLabels on Image)
audio-transcription/           config.xml + tasks.json   (Audio + TextArea transcript + Choices quality)
```

`tasks.json` is a Label Studio JSON import: a list of `{{"data": ..., "annotations": [...], "predictions": [...]}}`.
Media URLs use Label Studio's local-files scheme relative to `assets/`, e.g.
`/data/local-files/?d=demo/images/coins.jpg`. Annotations name their author as
`"completed_by": {{"email": "annotator1@demo.quorum.local"}}` (annotator1 to annotator4, plus
`reviewer@demo.quorum.local`, whose annotations are marked `ground_truth: true`). Timestamps lie in the
six days before {REFERENCE_NOW.date().isoformat()}. Image boxes are in percent of the original image
(`x`, `y`, `width`, `height`, `rotation: 0`, with `original_width`/`original_height`); text spans use
character offsets with an exclusive `end`.

Predictions come from pretend models (`sentiment-distilbert-v2`, `ner-spacy-sm-3.7`, `detr-resnet50-demo`,
`whisper-tiny-en`). They were written by the script, not produced by any real model.

## Images

Taken from the sample data that ships inside the scikit-image wheel (`skimage/data/`, scikit-image
0.26). The licence of each image is the one stated in its `skimage.data` docstring. Only images marked
public domain, CC0 or "no known copyright restrictions" were used. The coins photo is the only one marked
"no known copyright restrictions" instead of an explicit public-domain or CC0 statement. scikit-image itself is BSD-3-Clause.

| File | Source | Size (px) | Licence |
|---|---|---|---|
{image_rows}

The coin boxes in `image-boxes/` were computed from the coins image (Sobel elevation map, watershed from
dark/bright markers, hole filling, `regionprops` bounding boxes: 24 coins). The other boxes were placed by hand and
checked by drawing them on the photos. The annotators' boxes are the reference boxes with a few pixels of
random jitter. Built-in disagreements: annotator2 misses one coin, annotator1 labels the spoon as a Cup,
annotator4 skips the two towers at the edges of the rocket photo. The camera photo is left unlabeled and has
only a prediction.

## Audio

Made with `espeak-ng` 1.51 (Debian 12), with several voices and speaking rates, and converted to 16 kHz mono
16-bit PCM with `sox -D` (no dither, so the output is reproducible). The sentences were written for this demo.
The speech is synthetic and the sentences are original, so no recording of a real person is involved
(espeak-ng is GPL-3.0, but that licence does not cover the audio it produces).

| File | Voice | Words/min | Length | True transcript |
|---|---|---|---|---|
{audio_rows}

Clips 01-05 each have three annotators' transcripts with realistic slips (missing punctuation, "arived",
"packages", a dropped article, "charged to us" for "charged twice"). Clip 06 is left unlabeled.

## Text

The 40 product reviews and 25 news-style sentences were written for this demo. The people and companies in them
are fictional; the places and institutions are real, and appear only in neutral contexts. Entity offsets are
computed by the script from the entity strings.
"""


def main() -> None:
    DEMO.mkdir(parents=True, exist_ok=True)
    sizes = make_images()
    durations = make_audio()
    builders = {
        "text-classification": build_text_classification,
        "named-entities": build_named_entities,
        "image-boxes": lambda: build_image_boxes(sizes),
        "audio-transcription": lambda: build_audio_transcription(durations),
    }
    for folder, build in builders.items():
        config, tasks = build()
        write_text(DEMO / folder / "config.xml", config)
        write_json(DEMO / folder / "tasks.json", tasks)
    write_json(DEMO / "projects.json", PROJECTS)
    write_text(DEMO / "README.md", readme(sizes, durations))
    print(f"wrote demo assets to {DEMO.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
