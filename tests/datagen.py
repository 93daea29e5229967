"""Tiny data directories in the real layout (docs/data.md), written by the tests themselves."""

import csv
import gzip
import json
import string
from pathlib import Path

# BERT's own layout of the special tokens: [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "of", "and", "river", "bridge", "city", "team", "market", "film"]

# Label-typical words, so samples differ by label and sorting by label is visible.
TOPICS = {
    1: ["war", "minister", "election"],
    2: ["match", "goal", "league"],
    3: ["stock", "profit", "shares"],
    4: ["software", "chip", "internet"],
}


def tiny_vocab() -> list[str]:
    """A WordPiece vocabulary in which every lower-case ASCII word can be spelled."""
    pieces = list(string.ascii_lowercase) + ["##" + c for c in string.ascii_lowercase]
    pieces += list(string.digits) + ["##" + d for d in string.digits]
    pieces += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    topic_words = [w for words in TOPICS.values() for w in words]
    return list(
        dict.fromkeys(SPECIALS + WORDS + topic_words + pieces)
    )  # "a" is a word and a letter


def write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


def paragraph(article: int, index: int) -> str:
    words = [WORDS[(article * 7 + index * 3 + k) % len(WORDS)] for k in range(25)]
    return f"article {article} paragraph {index} " + " ".join(words)


def make_data_dir(
    root: Path,
    *,
    articles: int = 40,
    paragraphs_per_article: int = 5,
    agnews_train: int = 30,
    agnews_test: int = 20,
    fewrel_per_relation: int = 20,
) -> Path:
    """Writes every dataset of the layout under `root` and returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer").mkdir(exist_ok=True)
    (root / "tokenizer" / "bert-base-uncased-vocab.txt").write_text("\n".join(tiny_vocab()) + "\n")

    (root / "wikipedia").mkdir(exist_ok=True)
    with gzip.open(root / "wikipedia" / "paragraphs.jsonl.gz", "wt", encoding="utf-8") as f:
        for article in range(articles):
            for index in range(paragraphs_per_article):
                record = {
                    "title": f"Article {article}",
                    "article_id": 1000 + article,
                    "para_index": index,
                    "text": paragraph(article, index),
                }
                f.write(json.dumps(record) + "\n")

    def news(label: int, i: int, split: str):
        topic = TOPICS[label]
        title = f"{topic[i % 3]} {split} {i}"
        return [str(label), title, f"the {topic[(i + 1) % 3]} and\\the {topic[(i + 2) % 3]}"]

    train = [news(label, i, "train") for i in range(agnews_train) for label in TOPICS]
    test = [news(label, i, "test") for i in range(agnews_test) for label in TOPICS]
    test[0] = list(train[0])  # a test row that repeats a train row: must never be sampled
    write_csv(root / "ag_news" / "train.csv", train)
    write_csv(root / "ag_news" / "test.csv", test)
    (root / "ag_news" / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n")

    # DBpedia: 3 classes here (the classes file decides the number of labels).
    (root / "dbpedia").mkdir(exist_ok=True)
    (root / "dbpedia" / "classes.txt").write_text("Company\nArtist\nFilm\n")
    for name, offset in (("subset_dhim_val.csv", 0), ("subset_dhim_test.csv", 500)):
        rows = [
            [str(c), "", f"entry {offset + i} of class {c} the city"]
            for i in range(12)
            for c in (1, 2, 3)
        ]
        write_csv(root / "dbpedia" / name, rows)

    # FewRel: 3 relations; the first sentence of P1 is repeated with another entity pair.
    relations = {}
    for r, pid in enumerate(["P1", "P2", "P3"]):
        instances = []
        for i in range(fewrel_per_relation):
            tokens = ["the", "bridge", str(i), "crosses", "river", str(r), "."]
            instances.append(
                {"tokens": tokens, "h": ["bridge", "Q1", [[1]]], "t": ["river", "Q2", [[4, 5]]]}
            )
        relations[pid] = instances
    relations["P1"][1] = {**relations["P1"][0], "h": ["the bridge", "Q3", [[0, 1]]]}
    (root / "fewrel").mkdir(exist_ok=True)
    (root / "fewrel" / "val_wiki.json").write_text(json.dumps(relations))
    names = {"P1": ["crosses", ""], "P2": ["follows", ""], "P3": ["part of", ""]}
    (root / "fewrel" / "pid2name.json").write_text(json.dumps(names))
    return root
