"""TFRecord files of tf.train.Example records, read without TensorFlow.

What batch prediction needs when it runs a model with onnxruntime: importing
TensorFlow alone takes seconds, several times the work of reading a shard.
The framing (uint64 length, masked CRC-32C of the length, data, masked CRC-32C
of the data) is checked record by record with google-crc32c, and the records
are decoded with the protobuf runtime against a private copy of TensorFlow's
Example / Features / Feature messages (the wire format is all they share with
tensorflow.core.example, so both can live in one process).

Only local files: other file systems (gs://, hdfs://) go through TensorFlow.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from tf_util import errors

_MASK_DELTA = 0xA282EAD8


def available() -> bool:
  """True when the optional reader's dependencies (google-crc32c, protobuf) import."""
  try:
    import google_crc32c  # noqa: F401, PLC0415  (optional extra `onnx`)
    from google.protobuf import message_factory  # noqa: F401, PLC0415
  except ImportError:
    return False
  return True


def _masked_crc(data: bytes) -> int:
  import google_crc32c  # noqa: PLC0415  (optional extra `onnx`)
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: str) -> list[bytes]:
  """The serialized records of one TFRecord file, in order.

  Raises:
    RecordFormatError: Unreadable file, a record cut short (names its index)
      or a CRC mismatch (damaged bytes).
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise errors.RecordFormatError("Cannot read TFRecord file {}: {}".format(path, e)) from None
  records, position, size = [], 0, len(data)
  while position < size:
    if position + 12 > size:
      raise errors.RecordFormatError("{}: record {} is truncated ({} records complete, the "
                                     "file ends inside the next)".format(path, len(records),
                                                                         len(records)))
    header = data[position:position + 8]
    (length,) = struct.unpack("<Q", header)
    (header_crc,) = struct.unpack_from("<I", data, position + 8)
    start, end = position + 12, position + 12 + length
    if end + 4 > size:
      raise errors.RecordFormatError("{}: record {} is truncated ({} records complete, the "
                                     "file ends inside the next)".format(path, len(records),
                                                                         len(records)))
    record = data[start:end]
    (data_crc,) = struct.unpack_from("<I", data, end)
    if header_crc != _masked_crc(header) or data_crc != _masked_crc(record):
      raise errors.RecordFormatError("{}: record {} is corrupt (CRC mismatch)".format(
          path, len(records)))
    records.append(record)
    position = end + 4
  return records


@functools.lru_cache(maxsize=1)
def example_class():
  """The tf.train.Example message class, built in a private descriptor pool."""
  from google.protobuf import descriptor_pb2  # noqa: PLC0415  (optional reader)
  from google.protobuf import descriptor_pool  # noqa: PLC0415
  from google.protobuf import message_factory  # noqa: PLC0415
  field = descriptor_pb2.FieldDescriptorProto
  proto = descriptor_pb2.FileDescriptorProto(name="astronet_example.proto",
                                             package="astronet_example", syntax="proto3")

  def message(name, *fields):
    m = proto.message_type.add(name=name)
    for number, (field_name, kind, label, type_name, oneof) in enumerate(fields, start=1):
      f = m.field.add(name=field_name, number=number, type=kind, label=label)
      if type_name:
        f.type_name = type_name
      if oneof is not None:
        f.oneof_index = oneof
    return m

  optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED
  message("BytesList", ("value", field.TYPE_BYTES, repeated, None, None))
  # proto3: repeated numbers are packed, as TensorFlow writes them (and either is read).
  message("FloatList", ("value", field.TYPE_FLOAT, repeated, None, None))
  message("Int64List", ("value", field.TYPE_INT64, repeated, None, None))
  feature = message("Feature",
                    ("bytes_list", field.TYPE_MESSAGE, optional, ".astronet_example.BytesList", 0),
                    ("float_list", field.TYPE_MESSAGE, optional, ".astronet_example.FloatList", 0),
                    ("int64_list", field.TYPE_MESSAGE, optional, ".astronet_example.Int64List", 0))
  feature.oneof_decl.add(name="kind")
  features = message("Features", ("feature", field.TYPE_MESSAGE, repeated,
                                  ".astronet_example.Features.FeatureEntry", None))
  entry = features.nested_type.add(name="FeatureEntry")
  entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=optional)
  entry.field.add(name="value", number=2, type=field.TYPE_MESSAGE, label=optional,
                  type_name=".astronet_example.Feature")
  entry.options.map_entry = True
  message("Example", ("features", field.TYPE_MESSAGE, optional, ".astronet_example.Features",
                      None))
  pool = descriptor_pool.DescriptorPool()
  pool.Add(proto)
  return message_factory.GetMessageClass(pool.FindMessageTypeByName("astronet_example.Example"))


def parse_examples(records: list[bytes], path: str = "") -> list:
  """Example messages (feature map at .features.feature) of serialized records.

  Raises:
    RecordFormatError: A record that is not an Example.
  """
  cls = example_class()
  out = []
  for index, record in enumerate(records):
    try:
      out.append(cls.FromString(record))
    except Exception as e:  # protobuf's DecodeError  # pylint: disable=broad-except
      raise errors.RecordFormatError("{}: record {} is not a tf.train.Example: {}".format(
          path, index, e)) from None
  return out


def float_feature(example, name: str) -> np.ndarray | None:
  """float32 values of a feature (None when absent)."""
  features = example.features.feature
  if name not in features:
    return None
  return np.asarray(features[name].float_list.value, np.float32)


def int_feature(example, name: str, default: int | None = None) -> int | None:
  features = example.features.feature
  if name not in features or not features[name].int64_list.value:
    return default
  return int(features[name].int64_list.value[0])


def bytes_feature(example, name: str, default: bytes = b"") -> bytes:
  features = example.features.feature
  if name not in features or not features[name].bytes_list.value:
    return default
  return bytes(features[name].bytes_list.value[0])
