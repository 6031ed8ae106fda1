"""The gallery index: one row per template, in no particular order (the gallery sorts them).

Each row is ``(group_key, slug, title, description, data_type)``. The XML lives in
``xml/<group_key>__<slug>.xml``; ``tests/core/test_templates.py`` checks that rows and files match one
to one. Slugs are unique across groups, so ``get_template(slug)`` needs no group.
"""
from __future__ import annotations

# group key (file-name prefix) -> group title, in the order the gallery shows the groups
GROUP_KEYS: tuple[tuple[str, str], ...] = (
    ("computer-vision", "Computer vision"),
    ("nlp", "Natural language processing"),
    ("audio", "Audio and speech"),
    ("conversational-ai", "Conversational AI"),
    ("ranking", "Ranking and scoring"),
    ("structured-data", "Structured data"),
    ("time-series", "Time series"),
    ("video", "Video"),
    ("generative-ai", "Generative AI"),
)

INDEX: tuple[tuple[str, str, str, str, str], ...] = (
    # -- Computer vision --------------------------------------------------------------------------
    ("computer-vision", "image-classification", "Image classification",
     "Pick the one category that best describes a photo.", "image"),
    ("computer-vision", "object-detection-boxes", "Object detection with bounding boxes",
     "Draw a labeled box around every object of interest in an image.", "image"),
    ("computer-vision", "polygon-segmentation", "Semantic segmentation with polygons",
     "Outline regions of an image with polygons and name what each region is.", "image"),
    ("computer-vision", "keypoints", "Keypoint labeling",
     "Place named landmark points (eyes, nose, ears ...) on an animal's face.", "image"),
    ("computer-vision", "ocr-boxes-transcription", "Optical character recognition",
     "Box each line of text in an image, say what kind of text it is and type what it says.",
     "image"),
    ("computer-vision", "image-captioning", "Image captioning",
     "Write a one-sentence caption for an image and flag images that cannot be described.",
     "image"),
    # -- Natural language processing ----------------------------------------------------------------
    ("nlp", "text-classification", "Text classification",
     "Assign one topic to a short news item.", "text"),
    ("nlp", "multi-label-text-classification", "Multi-label text classification",
     "Tick every aspect a product review talks about.", "text"),
    ("nlp", "named-entity-recognition", "Named entity recognition",
     "Highlight people, organizations, places, dates, products and amounts in a text.", "text"),
    ("nlp", "relation-extraction", "Relation extraction",
     "Mark entities in a sentence, then link them with typed relations.", "text"),
    ("nlp", "taxonomy", "Taxonomy classification",
     "File a product listing under a category of a nested catalog tree.", "text"),
    ("nlp", "sentiment-rating", "Sentiment analysis with intensity",
     "Choose the sentiment of a customer comment and rate how strongly it is expressed.", "text"),
    ("nlp", "question-answering", "Extractive question answering",
     "Highlight the span of a passage that answers a question.", "text"),
    ("nlp", "translation-quality", "Machine translation quality",
     "Rate a machine translation for adequacy and fluency and write a corrected version.", "text"),
    ("nlp", "html-entity-labeling", "Named entities in HTML",
     "Highlight entities directly in a rendered web page fragment.", "html"),
    ("nlp", "text-summarization", "Text summarization",
     "Read an article and write a short summary of it.", "text"),
    ("nlp", "content-moderation", "Content moderation",
     "Flag the policy violations in a user post, decide what to do with it and explain why.",
     "text"),
    # -- Audio and speech ---------------------------------------------------------------------------
    ("audio", "audio-classification", "Audio classification",
     "Say what kind of sound a recording mainly contains.", "audio"),
    ("audio", "speech-transcription", "Speech transcription",
     "Type out everything said in a recording and rate how clear it is.", "audio"),
    ("audio", "speaker-segmentation", "Speaker segmentation",
     "Mark the stretches of a recording where each speaker talks.", "audio"),
    ("audio", "segment-transcription", "Transcription by segment",
     "Cut a recording into segments and transcribe each segment separately.", "audio"),
    # -- Conversational AI --------------------------------------------------------------------------
    ("conversational-ai", "intent-slot-filling", "Intent classification and slot filling",
     "Pick the customer's intent in a booking dialogue and mark the slot values in it.",
     "dialogue"),
    ("conversational-ai", "response-selection", "Response selection",
     "Choose which of three candidate replies best continues a dialogue.", "dialogue"),
    ("conversational-ai", "response-generation", "Response generation",
     "Write the agent's next reply in a support conversation.", "dialogue"),
    # -- Ranking and scoring ------------------------------------------------------------------------
    ("ranking", "pairwise-comparison", "Pairwise comparison",
     "Compare two texts side by side and pick the better one.", "text"),
    ("ranking", "search-result-ranking", "Search result ranking",
     "Drag search results into relevance buckets and order them within each bucket.", "text"),
    ("ranking", "relevance-scoring", "Relevance scoring",
     "Score how well a document answers a search query.", "text"),
    # -- Structured data ----------------------------------------------------------------------------
    ("structured-data", "table-review", "Table record review",
     "Check a record shown as a key/value table and say whether it is correct.", "table"),
    ("structured-data", "field-extraction", "Document field extraction",
     "Read a receipt and fill in its vendor, date, total and currency.", "text"),
    # -- Time series --------------------------------------------------------------------------------
    ("time-series", "activity-segmentation", "Activity segmentation",
     "Mark the time ranges of walking, running and resting in accelerometer data.", "timeseries"),
    ("time-series", "anomaly-detection", "Anomaly detection",
     "Mark spikes, drops and sensor dropouts in a temperature and humidity series.",
     "timeseries"),
    # -- Video --------------------------------------------------------------------------------------
    ("video", "video-classification", "Video classification",
     "Pick the genre of a video clip.", "video"),
    ("video", "video-timeline-segmentation", "Video timeline segmentation",
     "Mark the stretches of a clip where events happen, stored as frame ranges.", "video"),
    # -- Generative AI ------------------------------------------------------------------------------
    ("generative-ai", "llm-response-grading", "LLM response grading",
     "Grade a model's answer to a prompt, flag its problems and justify the grade.", "text"),
    ("generative-ai", "rlhf-preference", "Human preference for RLHF",
     "Pick which of two model answers to the same prompt is better, and say why.", "text"),
    ("generative-ai", "sft-prompt-response", "Supervised fine-tuning data",
     "Write a prompt and an ideal response for a given topic and style brief.", "text"),
)
