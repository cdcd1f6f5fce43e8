"""astronet-tf2: TensorFlow 2 / Keras 3 port of exoplanet and variable-star deep-learning tools."""

from setuptools import find_packages
from setuptools import setup

setup(
    name="astronet-tf2",
    version="0.1.0",
    description=("TF2 / Keras 3 port of Astronet, Astronet-Triage, AstroWaveNet, "
                 "ASTROMER and a TESS flare transformer"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=[
        "astronet", "astronet.*", "astrowavenet", "astrowavenet.*", "astromer",
        "astromer.*", "flare_transformer", "flare_transformer.*",
        "light_curve_util", "light_curve_util.*", "third_party",
        "third_party.*", "tf_util", "tf_util.*", "ASTROMER", "ASTROMER.*"
    ]),
    # The shipped models (astronet/pretrained.py: registry, weights, model cards)
    # and the ASTROMER macho / atlas weights: --pretrained=NAME works offline.
    package_data={"astronet": ["pretrained_models/registry.json",
                               "pretrained_models/*/*.json",
                               "pretrained_models/*/*/*.json",
                               "pretrained_models/*/*/*.keras",
                               "pretrained_models/*/*.keras"],
                  "astromer": ["pretrained/*/conf.json", "pretrained/*/weights.index",
                               "pretrained/*/weights.data-00000-of-00001",
                               "pretrained/*/weights.h5"],
                  "flare_transformer": ["config.yaml", "static/tess_response.csv"]},
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-datasets",
        # TFDS builders (astronet/data/tfds_builder.py) need etils' epath, whose
        # importlib_resources dependency tensorflow-datasets does not pull in.
        "importlib_resources",
        "numpy",
        "scipy",
        "pandas",
        "astropy",
        "pydl",
        "h5py",
        "matplotlib",
        "absl-py",
        "tensorboard",
        "pyyaml",
        "tqdm",
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "ruff"],
        "beam": ["apache-beam"],
        # Beam's DaskRunner on a dask.distributed cluster (beam_generate_input_records.py).
        "dask": ["apache-beam", "dask[distributed]"],
        # Light classifiers on extracted features (astronet/transfer).
        "transfer": ["scikit-learn"],
        # ONNX export (export_model.py --format=onnx), batch_predict.py --backend=onnx.
        "onnx": ["tf2onnx", "onnx", "onnxruntime", "google-crc32c"],
        # lightkurve objects in (astronet.predict_lightcurve, preprocess.views_from_lightcurve).
        "lightkurve": ["lightkurve"],
    },
    license="Apache-2.0",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Astronomy",
    ],
)
