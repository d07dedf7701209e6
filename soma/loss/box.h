#pragma once
// Losses between boxes, for detectors that regress them.
#include "soma/loss/loss.h"

namespace soma::loss {

// 1 − GIoU (Rezatofighi et al. 2019) of predicted and target boxes [N, 4] in corners
// (x1, y1, x2, y2), row by row, as torchvision's generalized_box_iou_loss: IoU = I / (U + eps),
// GIoU = IoU − (C − U) / (C + eps) with C the area of the smallest box around both. Unlike IoU it
// has a gradient when the boxes do not overlap. Throws soma::Error on a shape mismatch.
Tensor generalized_box_iou_loss(const Tensor& boxes, const Tensor& target,
                                Reduction reduction = Reduction::Mean, double eps = 1e-7);

}  // namespace soma::loss
