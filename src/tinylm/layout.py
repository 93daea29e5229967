"""The data directory's layout (the one of shared/data; see docs/data.md).

Every path the project reads is named here, relative to the data directory.
"""

VOCAB = "tokenizer/bert-base-uncased-vocab.txt"
WIKIPEDIA = "wikipedia/paragraphs.jsonl.gz"

AGNEWS_TRAIN = "ag_news/train.csv"
AGNEWS_TEST = "ag_news/test.csv"
AGNEWS_CLASSES = "ag_news/classes.txt"

DBPEDIA_TRAIN = "dbpedia/train.csv"
DBPEDIA_TEST = "dbpedia/test.csv"
DBPEDIA_CLASSES = "dbpedia/classes.txt"
# Unofficial 5,000-row substitutes (J-zin/DHIM), used when the official files are absent:
# the "val" subset serves as the train pool, the "test" subset as the test pool.
DBPEDIA_SUBSET_TRAIN = "dbpedia/subset_dhim_val.csv"
DBPEDIA_SUBSET_TEST = "dbpedia/subset_dhim_test.csv"

FEWREL_TRAIN = "fewrel/train_wiki.json"
FEWREL_VAL = "fewrel/val_wiki.json"
FEWREL_NAMES = "fewrel/pid2name.json"

# Medical Abstracts (Schopf et al. 2022), in the layout of its GitHub repository
MEDICAL_TRAIN = "medical_abstracts/medical_tc_train.csv"
MEDICAL_TEST = "medical_abstracts/medical_tc_test.csv"
MEDICAL_LABELS = "medical_abstracts/medical_tc_labels.csv"

# Sizes of the official files, to tell complete files from partial ones.
OFFICIAL_ROWS = {
    AGNEWS_TRAIN: 120_000,
    AGNEWS_TEST: 7_600,
    DBPEDIA_TRAIN: 560_000,
    DBPEDIA_TEST: 70_000,
    MEDICAL_TRAIN: 11_550,
    MEDICAL_TEST: 2_888,
}
OFFICIAL_FEWREL_RELATIONS = {FEWREL_TRAIN: 64, FEWREL_VAL: 16}
OFFICIAL_FEWREL_PER_RELATION = 700
VOCAB_SIZE = 30_522
