#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

std::string error_of(const std::string& bytes, const std::string& source) {
    try {
        parse_npy(bytes, source);
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

// Runs the Python `script` with numpy imported as np and the directory's path in d.
CommandResult run_numpy(const std::string& script, const TempDir& dir) {
    std::string program = "import numpy as np, sys\nd = sys.argv[1]\n" + script;
    return run_command("/usr/bin/python3 -c '" + program + "' " + dir.path().string());
}

TEST(Npy, RoundTripKeepsTypeShapeAndValues) {
    std::vector<Tensor> tensors = {
        Tensor::from_values<float>({2, 3}, std::vector<float>{1.5f, -2, 3, 4, 5e-8f, 6}),
        Tensor::from_values<double>({3}, std::vector<double>{0.1, -1e300, 2}),
        Tensor::from_values<int64_t>({1, 1, 2}, std::vector<int64_t>{-7, int64_t(1) << 40}),
        Tensor::from_values<uint8_t>({}, std::vector<uint8_t>{200}),
        Tensor(DataType::Float, {0, 4}),
    };
    for (const Tensor& tensor : tensors) {
        std::string bytes = serialize_npy(tensor);
        EXPECT_EQ(bytes.find('\n') + 1, bytes.size() - tensor.bytes().size()) << "header ends in a newline";
        EXPECT_EQ((bytes.size() - tensor.bytes().size()) % 64, 0u) << "data is 64-byte aligned";
        EXPECT_EQ(parse_npy(bytes, "t.npy"), tensor) << shape_to_string(tensor.dims());
    }
}

TEST(Npy, ReadsWhatNumpyWrites) {
    TempDir dir;
    // Version 1 and version 2 headers, the three main dtypes, a scalar and a 1-d shape.
    std::string script = R"(
np.save(d + "/f.npy", np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
np.save(d + "/i.npy", np.array([-3, 2**40], dtype=np.int64))
np.save(d + "/s.npy", np.float64(2.5))
with open(d + "/v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.ones((2, 2), dtype=np.float64), version=(2, 0))
np.save(d + "/fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
np.save(d + "/big.npy", np.ones(3, dtype=">f4"))
)";
    CommandResult result = run_numpy(script, dir);
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;

    Tensor f = load_npy(dir.path() / "f.npy");
    EXPECT_EQ(f, Tensor::from_values<float>({2, 3}, std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f}));
    EXPECT_EQ(load_npy(dir.path() / "i.npy"), Tensor::from_values<int64_t>({2}, std::vector<int64_t>{-3, 1LL << 40}));
    EXPECT_EQ(load_npy(dir.path() / "s.npy"), Tensor::from_values<double>({}, std::vector<double>{2.5}));
    EXPECT_EQ(load_npy(dir.path() / "v2.npy"), Tensor::from_values<double>({2, 2}, std::vector<double>(4, 1.0)));
    EXPECT_THROW(load_npy(dir.path() / "fortran.npy"), Error);
    try {
        load_npy(dir.path() / "big.npy");
        FAIL() << "big-endian data accepted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("big.npy"), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find(">f4"), std::string::npos) << error.what();
    }
}

TEST(Npy, NumpyReadsWhatWeWrite) {
    TempDir dir;
    save_npy(Tensor::from_values<float>({2, 2}, std::vector<float>{1, 2, 3, 4.5f}), dir.path() / "f.npy");
    save_npy(Tensor::from_values<int64_t>({3}, std::vector<int64_t>{7, -8, 9}), dir.path() / "i.npy");
    std::string script = R"(
f = np.load(d + "/f.npy")
i = np.load(d + "/i.npy")
assert f.dtype == np.float32 and f.shape == (2, 2), (f.dtype, f.shape)
assert (f == np.array([[1, 2], [3, 4.5]])).all(), f
assert i.dtype == np.int64 and i.shape == (3,) and list(i) == [7, -8, 9], i
)";
    CommandResult result = run_numpy(script, dir);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
}

TEST(Npy, DamagedFilesAreErrorsNamingTheFile) {
    std::string bytes = serialize_npy(Tensor::from_values<float>({4}, std::vector<float>{1, 2, 3, 4}));
    for (const std::string& broken : {bytes.substr(0, bytes.size() - 1), bytes.substr(0, 20), bytes + "x",
                                      std::string("PK\x03\x04 not npy")}) {
        std::string message = error_of(broken, "damaged.npy");
        EXPECT_NE(message.find("damaged.npy"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(TensorFile, ChoosesTheFormatByExtension) {
    TempDir dir;
    Tensor tensor = Tensor::from_values<float>({1, 2}, std::vector<float>{3, 4});
    save_npy(tensor, dir.path() / "x.npy");
    write_file_atomically(dir.path() / "x.pb", serialize_tensor(tensor, "x"));
    EXPECT_EQ(load_tensor_file(dir.path() / "x.npy"), tensor);
    EXPECT_EQ(load_tensor_file(dir.path() / "x.pb"), tensor);
    EXPECT_THROW(load_tensor_file(dir.path() / "x.txt"), Error);
}

}  // namespace
}  // namespace mobileone
