#include "soma/loss/box.h"

#include "soma/ops/activation.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/shape.h"

namespace soma::loss {
namespace {

Tensor minimum(const Tensor& a, const Tensor& b) { return -maximum(-a, -b); }

}  // namespace

Tensor generalized_box_iou_loss(const Tensor& boxes, const Tensor& target, Reduction reduction,
                                double eps) {
  SOMA_CHECK(boxes.dim() == 2 && boxes.size(1) == 4 && boxes.shape() == target.shape(),
             "generalized_box_iou_loss: expected boxes and targets [N, 4] alike, found ",
             to_string(boxes.shape()), " and ", to_string(target.shape()));
  const auto column = [](const Tensor& x, int64_t c) { return slice(x, 1, c, 1); };
  const Tensor x1 = column(boxes, 0), y1 = column(boxes, 1), x2 = column(boxes, 2),
               y2 = column(boxes, 3);
  const Tensor u1 = column(target, 0), v1 = column(target, 1), u2 = column(target, 2),
               v2 = column(target, 3);
  // No overlap on either axis gives no intersection (and no gradient through it).
  const Tensor inter =
      relu(minimum(x2, u2) - maximum(x1, u1)) * relu(minimum(y2, v2) - maximum(y1, v1));
  const Tensor uni = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter;
  const Tensor hull = (maximum(x2, u2) - minimum(x1, u1)) * (maximum(y2, v2) - minimum(y1, v1));
  const Tensor giou = inter / (uni + eps) - (hull - uni) / (hull + eps);
  return reduce(reshape(1.0 - giou, {boxes.size(0)}), reduction);
}

}  // namespace soma::loss
