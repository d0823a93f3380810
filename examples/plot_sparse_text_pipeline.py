"""
Text classification: a pipeline on sparse features
==================================================

Text turns into very wide, very sparse feature matrices: one column per
word (or per hashed word), almost all of them zero in any one document.
skgraph's estimators take scipy.sparse CSR and CSC input as it is: the first
affine node of the graph multiplies the sparse matrix directly, and the
backward pass never forms a gradient with respect to the data, so nothing
is ever densified.

The corpus is generated here, from three small vocabularies, so the example
runs anywhere without downloading anything.
"""

# %%
# A generated corpus
# ------------------
# Each document mixes words of its topic with words every topic uses, a few
# words borrowed from another topic (so the classes overlap) and a few rare
# made-up names, which is what makes real vocabularies so wide.

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline

from skgraph import LogisticRegressionGraph, MLPClassifierGraph

ASTRONOMY = """star planet orbit telescope galaxy comet nebula moon solar eclipse
    asteroid gravity cosmic light year observatory rocket launch"""
COOKING = """recipe oven flour butter garlic simmer roast sauce onion pepper
    dough knife pan bake salt spice kitchen dinner"""
FOOTBALL = """goal match striker league referee penalty keeper pitch coach season
    tackle midfield transfer stadium fans derby cup score"""
COMMON = """the a of and to in is it that was for on with as this at by from
    new time people great first last good night big"""
TOPICS = {
    "astronomy": ASTRONOMY.split(),
    "cooking": COOKING.split(),
    "football": FOOTBALL.split(),
}
common = COMMON.split()

rng = np.random.default_rng(0)
syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
rare_names = sorted(
    {"".join(rng.choice(syllables, size=rng.integers(2, 4))) for _ in range(4000)}
)

names = sorted(TOPICS)
documents, labels = [], []
for _ in range(600):
    topic = rng.choice(names)
    other = rng.choice([t for t in names if t != topic])
    n_words = rng.integers(6, 20)
    words = np.concatenate(
        [
            rng.choice(TOPICS[topic], size=n_words // 2),
            rng.choice(common, size=n_words - n_words // 2),
            rng.choice(TOPICS[other], size=3),  # borrowed words blur the topics
            rng.choice(rare_names, size=4),
        ]
    )
    rng.shuffle(words)
    documents.append(" ".join(words))
    labels.append(topic)
labels = np.array(labels)
print(documents[0], "->", labels[0])

docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, test_size=0.25, stratify=labels, random_state=0
)

# %%
# TF-IDF features and logistic regression
# ---------------------------------------
# :class:`~sklearn.feature_extraction.text.TfidfVectorizer` returns a CSR
# matrix; :class:`~skgraph.LogisticRegressionGraph` fits on it as it is. The
# labels are strings: ``classes_`` keeps them, ``predict`` returns them.

text_clf = make_pipeline(
    TfidfVectorizer(sublinear_tf=True), LogisticRegressionGraph(C=10.0)
)
text_clf.fit(docs_train, y_train)
X_train = text_clf[0].transform(docs_train)
print(f"features: {type(X_train).__name__}, shape {X_train.shape}, ", end="")
print(f"{X_train.nnz / np.prod(X_train.shape):.1%} non-zero")
assert sp.issparse(X_train)

accuracy = text_clf.score(docs_test, y_test)
print("classes:", text_clf[-1].classes_)
print(f"held-out accuracy: {accuracy:.3f}")
print("prediction for a new text:", text_clf.predict(["the comet and the moon"]))
assert accuracy > 0.9

# %%
# The same pipeline with scikit-learn's ``LogisticRegression`` reaches the
# same optimum on the same sparse matrix (both fitted with a tight ``tol``):

ours = make_pipeline(
    TfidfVectorizer(sublinear_tf=True), LogisticRegressionGraph(C=10.0, tol=1e-8)
).fit(docs_train, y_train)
theirs = make_pipeline(
    TfidfVectorizer(sublinear_tf=True),
    LogisticRegression(C=10.0, tol=1e-8, max_iter=1000),
).fit(docs_train, y_train)
difference = np.abs(ours[-1].coef_ - theirs[-1].coef_).max()
print(f"largest difference of coef_ from scikit-learn's: {difference:.1e}")
assert difference < 1e-4 * np.abs(theirs[-1].coef_).max()

# %%
# The words that weigh most
# -------------------------
# ``coef_`` has one row per class and one column per word of the
# vocabulary; the largest weights of each row are that topic's words.

vocabulary = text_clf[0].get_feature_names_out()
coef = text_clf[-1].coef_
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, row, topic in zip(axes, coef, text_clf[-1].classes_, strict=True):
    top = np.argsort(row)[-8:]
    ax.barh(vocabulary[top], row[top], color="tab:blue")
    ax.set_title(topic)
    ax.set_xlabel("weight")
    assert set(vocabulary[top[-5:]]) <= set(TOPICS[topic])
fig.suptitle("largest coefficients of LogisticRegressionGraph, per class")
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery may run examples without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "sparse_text_pipeline.png", dpi=100)
print("saved", output / "sparse_text_pipeline.png")

# %%
# Hashed features and a small neural network
# ------------------------------------------
# :class:`~sklearn.feature_extraction.text.HashingVectorizer` needs no
# vocabulary (a word's column is a hash of it), so it suits text that
# arrives in a stream. Its output is sparse too, and
# :class:`~skgraph.MLPClassifierGraph` takes it the same way. The scores
# are cross-validated over five folds.

hashed_mlp = make_pipeline(
    # raw counts (norm=None): TfidfTransformer weighs and normalises them
    HashingVectorizer(n_features=2**12, alternate_sign=False, norm=None),
    TfidfTransformer(sublinear_tf=True),
    MLPClassifierGraph(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0),
)
scores = cross_val_score(hashed_mlp, documents, labels, cv=5)
print(f"hashed features + MLP, accuracy {scores.mean():.3f} +/- {scores.std():.3f}")
assert scores.mean() > 0.85

# %%
# Sparse data in the graph
# ------------------------
# Feeding the sparse matrix to the graph of the fitted logistic regression
# and drawing the pass shows where it goes: the input node ``X`` holds the
# CSR matrix (summarised by its shape and number of non-zeros), the affine
# node ``logits`` turns it into a dense score per class.

g = text_clf[-1].graph_
trace = g.forward(g["logits"], {g["X"]: X_train})
graph_figure = g.draw(trace, grads=False, title="a forward pass on sparse TF-IDF rows")
